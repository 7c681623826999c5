"""Delegato benchmarks. Every figure stands beside a baseline measured in the same run, because the
machines are shared and noisy: ratios hold where absolute numbers do not.

    scripts/bench issuance|registry|verify|api|cost [--json] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from ca.authority import IssuanceOrder  # noqa: E402
from ca.clock import SystemClock  # noqa: E402
from ca.config import Config  # noqa: E402
from ca.issuance.issuer import hash_for  # noqa: E402
from ca.issuance.serials import draw_serial  # noqa: E402
from ca.issuance.template import CertificateTemplate, build, subject_name  # noqa: E402
from ca.services import Services, build_services, initialize_home  # noqa: E402
from ca.tnauth import TNAuthList  # noqa: E402
from tests.support import pgcluster  # noqa: E402

BENCH_DIR = os.environ.get("DELEGATO_BENCH_DIR")  # where the SQLite home lives (default: temp dir)
SCOPE = TNAuthList.from_user(tns=["12025550100"], ranges=["12025550200:50", "18885551000:100"])


def rate(operation: Callable[[], object], count: int) -> float:
    """Operations per second over ``count`` calls, after a short warm-up."""
    for _ in range(max(3, count // 20)):
        operation()
    start = time.perf_counter()
    for _ in range(count):
        operation()
    return count / (time.perf_counter() - start)


@contextlib.contextmanager
def ca_on(database_url: str | None) -> Iterator[Services]:
    with tempfile.TemporaryDirectory(prefix="delegato-bench-", dir=BENCH_DIR) as home:
        config = Config(home=Path(home), database_url=database_url or "")
        services = build_services(config, clock=SystemClock())
        initialize_home(
            services,
            spc="1234",
            sca_scope=TNAuthList.from_user(ranges=["12025550000:10000", "18885550000:10000"]),
            crl_model="direct",
            actor="bench",
        )
        org = services.organizations.add("enterprise", "Bench Corp", actor="bench")
        services.bench_org = org  # type: ignore[attr-defined]
        try:
            yield services
        finally:
            services.close()


def order_for(services: Services) -> IssuanceOrder:
    org = services.bench_org  # type: ignore[attr-defined]
    return IssuanceOrder(
        organization_id=org.id,
        organization_name=org.name,
        public_key=ec.generate_private_key(ec.SECP256R1()).public_key(),
        tn_auth_list=SCOPE,
        lifetime=dt.timedelta(hours=24),
        actor="bench",
        evidence={"basis": "bench"},
    )


def bare_sign_rate(services: Services, count: int) -> float:
    """cryptography alone: build the same delegate template and sign it with the SCA key."""
    sca = services.issuers.active_sca()
    key = services.keys.signer(sca.record.key_uri)
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    profile = services.authority._profile
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def sign() -> object:
        template = CertificateTemplate(
            profile=profile,
            subject=subject_name("US", "Bench Corp", "SHAKEN Bench Corp"),
            public_key=public,
            serial=draw_serial(),
            not_before=now,
            not_after=now + dt.timedelta(hours=24),
            issuer_certificate=sca.certificate,
            tn_auth_list=TNAuthList(SCOPE.entries).canonical(),
            crl_url=sca.crl_url,
        )
        return build(template).sign(key, hash_for(key.curve))

    return rate(sign, count)


def pipeline_rate(services: Services, count: int) -> float:
    order = order_for(services)
    # A fresh scope object per certificate, as each request brings its own: nothing computed
    # for one certificate (canonical form, DER) is reused for the next.
    return rate(
        lambda: services.authority.issue(
            dataclasses.replace(order, tn_auth_list=TNAuthList(SCOPE.entries))
        ),
        count,
    )


def tnauth_figures(quick: bool) -> tuple[float, float]:
    """covers() on a 1,000,000-entry list (µs per call); encompasses() 100,000 by 1,000,000 (s)."""
    size = 100_000 if quick else 1_000_000
    base = 12_020_000_000
    # Every other number, so nothing merges: the list really holds ``size`` entries.
    parent = TNAuthList.from_intervals((11, base + 2 * i, base + 2 * i) for i in range(size))
    parent.covers(str(base))  # builds the lookup index once, as any long-lived list would
    probes = [str(base + random.randrange(2 * size)) for _ in range(100_000)]
    start = time.perf_counter()
    for probe in probes:
        parent.covers(probe)
    covers_us = (time.perf_counter() - start) / len(probes) * 1e6
    timings = []
    for _ in range(3):
        # A freshly built child each time: its lookup index is built inside the timed call.
        child = TNAuthList.from_intervals(
            (11, base + 20 * i, base + 20 * i) for i in range(size // 10)
        )
        start = time.perf_counter()
        assert parent.encompasses(child)
        timings.append(time.perf_counter() - start)
    return covers_us, statistics.median(timings)


def bench_issuance(args: argparse.Namespace) -> dict[str, float]:
    n_bare, n_pipe = (300, 100) if args.quick else (3000, 1000)
    results: dict[str, float] = {}
    with ca_on(None) as services:
        results["bare_sign_per_s"] = bare_sign_rate(services, n_bare)
        results["pipeline_sqlite_per_s"] = pipeline_rate(services, n_pipe)
        # Bare again after the pipeline, so a drifting machine shows as a spread, not a bias.
        results["bare_sign_per_s"] = (
            results["bare_sign_per_s"] + bare_sign_rate(services, n_bare)
        ) / 2
    with pgcluster.throwaway_cluster("bench") as url, ca_on(url) as services:
        results["pipeline_postgres_per_s"] = pipeline_rate(services, n_pipe)
    results["covers_us"], results["encompasses_s"] = tnauth_figures(args.quick)
    return results


def print_table(results: dict[str, float]) -> None:
    bare = results["bare_sign_per_s"]
    rows = [
        ("bare CertificateBuilder.sign()", f"{bare:,.0f} /s", "baseline", ""),
        (
            "pipeline on SQLite",
            f"{results['pipeline_sqlite_per_s']:,.0f} /s",
            f"{results['pipeline_sqlite_per_s'] / bare:.1%} of bare",
            "target ≥ 20 %",
        ),
        (
            "pipeline on PostgreSQL",
            f"{results['pipeline_postgres_per_s']:,.0f} /s",
            f"{results['pipeline_postgres_per_s'] / bare:.1%} of bare",
            "",
        ),
        ("covers() on 1,000,000 entries", f"{results['covers_us']:.2f} µs", "", "target < 5 µs"),
        ("encompasses() 100k by 1M", f"{results['encompasses_s']:.3f} s", "", "target < 1 s"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, ratio, target in rows:
        print(f"{name:<{width}}  {value:>14}  {ratio:>16}  {target}")


def issuance_json(results: dict[str, float]) -> dict[str, float]:
    keys = (
        "pipeline_sqlite_per_s",
        "pipeline_postgres_per_s",
        "bare_sign_per_s",
        "covers_us",
        "encompasses_s",
    )
    return {key: round(results[key], 4) for key in keys}


@dataclasses.dataclass(frozen=True)
class Suite:
    run: Callable[[argparse.Namespace], dict[str, float]]
    table: Callable[[dict[str, float]], None]
    as_json: Callable[[dict[str, float]], dict[str, float]]


def suites() -> dict[str, Suite]:
    """Each suite lives in its own module under scripts/benchmarks/ once it outgrows this file."""
    found = {"issuance": Suite(bench_issuance, print_table, issuance_json)}
    for name in ("registry", "verify", "api", "cost"):
        try:
            module = __import__(f"benchmarks.{name}", fromlist=["run"])
        except ModuleNotFoundError as exc:
            if exc.name != f"benchmarks.{name}":
                raise
            continue
        found[name] = Suite(module.run, module.print_table, module.as_json)
    return found


def main() -> None:
    available = suites()
    parser = argparse.ArgumentParser(prog="scripts/bench")
    parser.add_argument("suite", choices=sorted(available))
    parser.add_argument("--json", action="store_true", help="one JSON line")
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    args = parser.parse_args()
    suite = available[args.suite]
    results = suite.run(args)
    if args.json:
        print(json.dumps(suite.as_json(results)))
    else:
        suite.table(results)


if __name__ == "__main__":
    main()
