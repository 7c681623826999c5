"""Instructions per request, counted rather than timed: the noise-free companion of `api`.

    scripts/bench cost [--json] [--quick]

On a shared machine the same code measures 15-30 % faster or slower from one minute to the next,
so a change worth 3 % cannot be seen in rates. valgrind (cachegrind, no cache simulation) counts
the user-space instructions a process retires instead, which its neighbours do not change: two
runs agree to about 0.2 %. Each load runs in one process through Flask's test client (the whole
application: key check, schema, registry, the issuance steps, audit, response), once with none
and once with N requests after the same set-up; the difference over N is one request.

What it leaves out: the kernel (WAL writes, sockets), gunicorn, and waiting for other threads. So
it ranks changes to Delegato's own work; the rate target itself is `scripts/bench api`'s.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOADS = ("healthz", "x5u", "issue")
WARM_UP = 100  # certificates issued (and requests of the load made) before counting starts
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def _say(text: str) -> None:
    print(f"bench cost: {text}", file=sys.stderr, flush=True)


def instructions(load: str, count: int) -> int:
    """User-space instructions of a child process that makes ``count`` requests of ``load``."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("bench cost needs valgrind (apt-get install valgrind)")
    result = subprocess.run(
        [
            valgrind,
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "child",
            load,
            str(count),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        # Both runs of a load do the same imports: neither may find .pyc files the other wrote.
        env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    found = _REFS.search(result.stderr)
    if result.returncode != 0 or found is None:
        raise SystemExit(f"bench cost: the {load} child failed:\n{result.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def run(args: argparse.Namespace) -> dict[str, float]:
    quick = {"healthz": 300, "x5u": 300, "issue": 60}
    counts = quick if args.quick else {"healthz": 1000, "x5u": 1000, "issue": 200}
    jobs = [(load, n) for load in LOADS for n in (0, counts[load])]
    _say(f"{len(jobs)} runs under valgrind, two at a time (a minute or two)")
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        totals = dict(zip(jobs, pool.map(lambda job: instructions(*job), jobs), strict=True))
    results: dict[str, float] = {}
    for load in LOADS:
        per = (totals[(load, counts[load])] - totals[(load, 0)]) / counts[load]
        results[f"{load}_instructions"] = per
    results["issue_over_healthz"] = results["issue_instructions"] / results["healthz_instructions"]
    results["x5u_over_healthz"] = results["x5u_instructions"] / results["healthz_instructions"]
    return results


def print_table(results: dict[str, float]) -> None:
    print("user-space instructions per request, in-process (Flask test client), valgrind-counted")
    print(f"{'load':10s} {'instructions':>14s} {'x healthz':>10s}")
    for load in LOADS:
        per = results[f"{load}_instructions"]
        ratio = per / results["healthz_instructions"]
        print(f"{load:10s} {per:14,.0f} {ratio:10.2f}")


def as_json(results: dict[str, float]) -> dict[str, float]:
    return {
        "issue_instructions": round(results["issue_instructions"]),
        "x5u_instructions": round(results["x5u_instructions"]),
        "healthz_instructions": round(results["healthz_instructions"]),
        "issue_over_healthz": round(results["issue_over_healthz"], 3),
    }


def _child(load: str, count: int) -> None:
    """Set up a home with an enterprise and its numbers, warm up, then make ``count`` requests."""
    sys.path[:0] = [str(REPO), str(REPO / "scripts")]
    import datetime as dt

    from api import create_app
    from benchmarks import initialized
    from ca.config import Config
    from ca.tnauth import TNAuthList
    from tests.conftest import make_csr

    with tempfile.TemporaryDirectory(prefix="delegato-bench-cost-") as home:
        services = initialized(Config(home=Path(home)))
        authority = services.organizations.add("tn_authority", "TNSP", actor="bench")
        enterprise = services.organizations.add("enterprise", "Enterprise", actor="bench")
        services.registry.assign(
            authority.id,
            enterprise.id,
            TNAuthList.from_user(ranges=["12025550000:100"]),
            services.clock.now() + dt.timedelta(days=30),
            actor="bench",
        )
        key = services.api_keys.create(enterprise.id, "enterprise", actor="bench").secret
        client = create_app(services=services).test_client()
        csr, _ = make_csr()
        body, headers = {"csr": csr.decode()}, {"Authorization": f"Bearer {key}"}

        def issue() -> str:
            response = client.post("/v1/certificates", json=body, headers=headers)
            assert response.status_code == 201, response.json
            return str(response.json["serial"])

        serials = [issue() for _ in range(WARM_UP)]

        def x5u(number: int) -> None:
            response = client.get(f"/certs/{serials[number % len(serials)]}.pem")
            assert response.status_code == 200

        def healthz(_: int) -> None:
            assert client.get("/healthz").status_code == 200

        request = {"healthz": healthz, "x5u": x5u, "issue": lambda _: issue()}[load]
        for number in range(WARM_UP):
            request(number)
        for number in range(count):
            request(number)
        services.close()


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    _child(sys.argv[2], int(sys.argv[3]))
