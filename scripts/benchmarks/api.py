"""scripts/bench api: the HTTP service as deployed, `delegato serve --workers 2`, driven by wrk.

    scripts/bench api [--json] [--quick]
    DELEGATO_BENCH_DATABASE=postgres scripts/bench api   # on a throwaway PostgreSQL cluster
    DELEGATO_BENCH_PROFILE=1 scripts/bench api           # then spans and cProfile (on stderr)
    DELEGATO_BENCH_PROFILE=1 DELEGATO_PROFILE_CLOCK=wall scripts/bench api   # waits included

Certificate requests (POST /v1/certificates: API key, JSON schema, CSR, registry, the six-step
issuance, the JSON answer with the chain) at 1, 8 and 32 concurrent connections, and x5u GETs
(GET /certs/<serial>.pem over a handful of certificates), beside GET /healthz on the same server
in the same run: healthz is gunicorn, Flask, the access log and the metrics with no work, so the
ratios say what the work costs over that floor. Rounds interleave every load in a fresh order so
a noisy neighbour hits all alike; figures are medians of the rounds, ratios medians of the
per-round ratios. Targets (issue item 10), at 8 clients: issuance >= 20 % of the healthz rate,
x5u >= 70 %. Beside each rate: wrk's p50/p99 latency and the CPU time the server's processes
spent per request (from /proc), which neighbours on a shared machine disturb far less than rates.

wrk runs on the same machine as gunicorn (one wrk thread), so the rates are the machine's, shared
between the load generator and the server; the ratios hold because all loads share it alike.
The profile mode times each step of a certificate request in one process (no gunicorn, no
profiler), then runs cProfile inside the gunicorn workers (a sitecustomize hook on PYTHONPATH
that profiles every thread, CPU clock by default) under each load in turn.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import make_csr
from tests.support import pgcluster
from tests.support.server import Home, Server, free_ports, init_home, json_lines, start_server

WRK = shutil.which("wrk") or "/usr/bin/wrk"
CLIENTS = (1, 8, 32)
HEADLINE = 8  # clients of the --json figures and of the ratios
X5U_CERTIFICATES = 16
SCOPE = "12025550000:100"  # what the bench enterprise holds; each certificate covers all of it
BENCH_DIR = os.environ.get("DELEGATO_BENCH_DIR")
TARGETS = {"issue": 0.20, "x5u": 0.70}

# Lua for wrk: the figures of a run as one JSON line (wrk's own text is only for people).
_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\n{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"status_errors": %d, "socket_errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass(frozen=True)
class Load:
    """One wrk run."""

    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float  # CPU time of the server's processes (arbiter, workers, jobs) per request


@dataclass(frozen=True)
class Target:
    server: Server
    scripts: dict[str, tuple[Path, int]]  # load name -> (wrk script, connections)


def _say(text: str) -> None:
    print(f"bench api: {text}", file=sys.stderr, flush=True)


def _cpu_seconds(server: Server) -> float:
    """User + system CPU time of the server's processes so far (proc(5): stat fields 14, 15)."""
    ticks = 0
    for pid in (server.process.pid, *server.children()):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(server: Server, script: Path, connections: int, seconds: float) -> Load:
    cpu_before = _cpu_seconds(server)
    result = subprocess.run(
        [
            WRK,
            "--latency",
            "-t1",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            server.url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    cpu = _cpu_seconds(server) - cpu_before
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return Load(
        rate=report["requests"] / (report["duration_us"] / 1e6),
        p50_ms=report["p50_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
        errors=report["status_errors"] + report["socket_errors"],
        cpu_ms=cpu * 1000 / max(1, report["requests"]),
    )


def _lua_string(text: str) -> str:
    # A long bracket keeps the JSON's backslash escapes as they are.
    assert "]==]" not in text
    return f"[==[{text}]==]"


def _write_scripts(directory: Path, key: str, x5u_paths: list[str]) -> dict[str, tuple[Path, int]]:
    csr, _ = make_csr()
    issue = directory / "issue.lua"
    issue.write_text(
        'wrk.method = "POST"\n'
        'wrk.path = "/v1/certificates"\n'
        f"wrk.body = {_lua_string(json.dumps({'csr': csr.decode()}))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {key}"\n' + _REPORT
    )
    x5u = directory / "x5u.lua"
    x5u.write_text(
        "local paths = {" + ", ".join(json.dumps(p) for p in x5u_paths) + "}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i])\n'
        "end\n" + _REPORT
    )
    healthz = directory / "healthz.lua"
    healthz.write_text('wrk.path = "/healthz"\n' + _REPORT)
    scripts = {"healthz": (healthz, HEADLINE), "x5u": (x5u, HEADLINE)}
    scripts.update({f"issue_{c}": (issue, c) for c in CLIENTS})
    return scripts


@dataclass(frozen=True)
class Prepared:
    home: Home
    key: str  # the bench enterprise's API key
    x5u_paths: list[str]


def prepare(base: Path, database_url: str, port: int) -> Prepared:
    """A fresh home with an enterprise holding SCOPE, its API key and X5U_CERTIFICATES
    certificates, all made with the CLI (before any server runs, so a profile of the server
    holds the measured load alone)."""
    url = database_url or f"sqlite:///{base / 'home' / 'delegato.db'}"
    home = init_home(base / "home", url, f"http://127.0.0.1:{port}")
    tnsp = home.cli("org", "add", "--kind", "tn_authority", "--name", "Bench TNSP")["id"]
    holder = home.cli("org", "add", "--kind", "enterprise", "--name", "Bench Corp")["id"]
    home.cli(
        "assign", "--authority", tnsp, "--enterprise", holder, "--range", SCOPE, "--expires", "+30d"
    )
    key = home.cli("key", "create", "--org", holder, "--role", "enterprise")["key"]
    csr = base / "holder.csr"
    csr.write_bytes(make_csr()[0])
    issued = [
        home.cli("cert", "issue", "--org", holder, "--csr", str(csr))
        for _ in range(X5U_CERTIFICATES)
    ]
    return Prepared(home, key, [c["x5u"][len(home.public_url) :] for c in issued])


@contextlib.contextmanager
def deployment(database_url: str, env: dict[str, str] | None = None) -> Iterator[Target]:
    """`delegato serve --workers 2` over a prepared home."""
    with tempfile.TemporaryDirectory(prefix="delegato-bench-api-", dir=BENCH_DIR) as tmp:
        base = Path(tmp)
        (port,) = free_ports(1)
        prepared = prepare(base, database_url, port)
        server = start_server(prepared.home, port=port, workers=2, env=env)
        try:
            server.wait_ready()
            yield Target(server, _write_scripts(base, prepared.key, prepared.x5u_paths))
        finally:
            server.stop()


@contextlib.contextmanager
def database() -> Iterator[str]:
    """'' (the home's embedded SQLite) or a throwaway PostgreSQL database."""
    choice = os.environ.get("DELEGATO_BENCH_DATABASE", "sqlite")
    if choice == "sqlite":
        yield ""
    elif choice == "postgres":
        with pgcluster.throwaway_cluster("bench-api") as url:
            yield url
    else:
        raise SystemExit(f"DELEGATO_BENCH_DATABASE={choice!r}: sqlite or postgres")


def _measure(target: Target, rounds: int, seconds: float) -> dict[str, float]:
    for script, connections in target.scripts.values():
        wrk(target.server, script, connections, 1)  # warm every worker's caches and connections
    samples: dict[str, list[Load]] = {name: [] for name in target.scripts}
    order = list(target.scripts)
    shuffler = random.Random(10)
    for number in range(rounds):
        shuffler.shuffle(order)
        for name in order:
            script, connections = target.scripts[name]
            samples[name].append(wrk(target.server, script, connections, seconds))
        _say(
            f"round {number + 1}/{rounds}: "
            + ", ".join(f"{name} {samples[name][-1].rate:,.0f}/s" for name in target.scripts)
        )
    results: dict[str, float] = {}
    for name, loads in samples.items():
        results[f"{name}_per_s"] = statistics.median(load.rate for load in loads)
        results[f"{name}_p50_ms"] = statistics.median(load.p50_ms for load in loads)
        results[f"{name}_p99_ms"] = statistics.median(load.p99_ms for load in loads)
        results[f"{name}_cpu_ms"] = statistics.median(load.cpu_ms for load in loads)
    failed = {name: sum(load.errors for load in loads) for name, loads in samples.items()}
    if any(failed.values()):
        # A rate of refused requests measures nothing; the server's log says why.
        tail = "\n".join(target.server.log_lines()[-20:])
        raise RuntimeError(f"non-2xx answers or socket errors per load: {failed}\n{tail}")
    healthz = [load.rate for load in samples["healthz"]]
    for name in ("x5u", f"issue_{HEADLINE}"):
        ratios = [load.rate / h for load, h in zip(samples[name], healthz, strict=True)]
        results[f"{name.split('_')[0]}_vs_healthz"] = statistics.median(ratios)
    results.update(_app_times(target.server))
    return results


def _app_times(server: Server) -> dict[str, float]:
    """Median time inside Flask per request kind, from the access log's duration_ms (api/logs.py):
    what the application spends, apart from gunicorn, the sockets and wrk."""
    durations: dict[str, list[float]] = {"healthz": [], "x5u": [], "issue": []}
    for entry in json_lines(server.log()):
        if entry.get("logger") != "delegato.http":
            continue
        path, method = entry.get("path", ""), entry.get("method")
        kind = (
            "healthz"
            if path == "/healthz"
            else "x5u"
            if path.startswith("/certs/")
            else "issue"
            if path == "/v1/certificates" and method == "POST"
            else None
        )
        if kind:
            durations[kind].append(float(entry["duration_ms"]))
    return {
        f"{kind}_app_ms": statistics.median(values) for kind, values in durations.items() if values
    }


def run(args: argparse.Namespace) -> dict[str, float]:
    rounds, seconds = (3, 2.0) if args.quick else (5, 3.0)
    with database() as url:
        with deployment(url) as target:
            _say(f"serving on {target.server.url}; {rounds} rounds of {seconds:g}s per load")
            results = _measure(target, rounds, seconds)
        results["postgres"] = float(bool(url))
        if os.environ.get("DELEGATO_BENCH_PROFILE"):
            spans(url, 100 if args.quick else 500)
            profile(url, seconds * 2)
    return results


# -- profiling --------------------------------------------------------------------------------------

#: Loaded by every Python process of the server when DELEGATO_PROFILE_DIR is set: one cProfile
#: per thread (gthread workers answer on pool threads), timed by the thread's CPU clock unless
#: DELEGATO_PROFILE_CLOCK=wall, written out when the process exits.
_SITECUSTOMIZE = """
import os
if os.environ.get("DELEGATO_PROFILE_DIR"):
    import atexit, cProfile, threading, time
    _clock = time.perf_counter if os.environ.get("DELEGATO_PROFILE_CLOCK") == "wall" else time.thread_time
    _profiles = []
    def _start(*_args):
        profile = cProfile.Profile(_clock)
        _profiles.append((os.getpid(), profile))
        profile.enable()
    threading.setprofile(_start)
    def _dump():
        for index, (pid, profile) in enumerate(_profiles):
            if pid == os.getpid():
                profile.dump_stats(os.path.join(
                    os.environ["DELEGATO_PROFILE_DIR"], f"{pid}-{index}.prof"))
    atexit.register(_dump)
"""

#: The spans a request's time is told in: (label, file suffix, function name).
SPANS = (
    ("gunicorn: a request on a pool thread", "gunicorn/workers/gthread.py", "handle"),
    ("  read and parse the request", "gunicorn/http/parser.py", "__next__"),
    ("  Flask wsgi_app", "flask/app.py", "wsgi_app"),
    ("    before_request hooks", "flask/app.py", "preprocess_request"),
    ("    view function and its error handler", "flask/app.py", "dispatch_request"),
    ("      API key (api/auth.py principal)", "api/auth.py", "principal"),
    ("      JSON body + schema (api/body.py)", "api/body.py", "json_body"),
    ("      RA request_certificate", "ca/ra.py", "request_certificate"),
    ("        RA organization lookup", "ca/ra.py", "organization"),
    ("        CSR parse + check", "ca/ra.py", "subject_key"),
    ("        policy willing_to_issue (registry)", "ca/policy.py", "willing_to_issue"),
    ("        CertificateAuthority.issue", "ca/authority.py", "issue"),
    ("      inventory view", "ca/inventory.py", "issued"),
    ("      repository certificate_chain", "ca/repository.py", "certificate_chain"),
    ("    after_request hooks", "flask/app.py", "process_response"),
    ("      access log line (api/logs.py)", "api/logs.py", "_end"),
    ("      metrics (api/operations.py)", "api/operations.py", "_count"),
    ("  write the response", "gunicorn/http/wsgi.py", "write"),
    ("SQLite statements (own time)", "~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
    ("SQLite commits (own time)", "~", "<method 'commit' of 'sqlite3.Connection' objects>"),
)
_WORKER = re.compile(r"Booting worker with pid: (\d+)")


def profile(url: str, seconds: float) -> None:
    """cProfile the workers under each load in turn and print where a request's time goes."""
    clock = os.environ.get("DELEGATO_PROFILE_CLOCK", "cpu")
    for load in ("issue_8", "issue_1", "x5u", "healthz"):
        with tempfile.TemporaryDirectory(prefix="delegato-profile-") as tmp:
            hook, dumps = Path(tmp) / "hook", Path(tmp) / "dumps"
            hook.mkdir()
            dumps.mkdir()
            (hook / "sitecustomize.py").write_text(_SITECUSTOMIZE)
            env = {
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [str(hook), os.environ.get("PYTHONPATH")])
                ),
                "DELEGATO_PROFILE_DIR": str(dumps),
                "DELEGATO_PROFILE_CLOCK": clock,
            }
            with deployment(url, env) as target:
                script, connections = target.scripts[load]
                measured = wrk(target.server, script, connections, seconds)
                workers = set(_WORKER.findall(target.server.log()))
            # The server has stopped: every worker wrote its profiles on the way out.
            files = [str(p) for p in dumps.glob("*.prof") if p.name.split("-")[0] in workers]
            stats = pstats.Stats(*files, stream=sys.stderr)
            _print_profile(load, clock, stats, measured.rate * seconds, measured)


def _print_profile(
    load: str, clock: str, stats: pstats.Stats, requests: float, measured: Load
) -> None:
    table = stats.stats  # type: ignore[attr-defined]
    print(
        f"\n== profile ({clock} time): {load}, {requests:,.0f} requests at "
        f"{measured.rate:,.0f}/s under cProfile; µs per request",
        file=sys.stderr,
    )
    for label, suffix, name in SPANS:
        total = sum(
            row[3]
            for (path, _line, func), row in table.items()
            if func == name and path.endswith(suffix)
        )
        if total:
            print(f"  {total / requests * 1e6:9.0f}  {label}", file=sys.stderr)
    print("  -- top functions by own time:", file=sys.stderr)
    rows = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[:20]
    for (path, line, func), row in rows:
        where = "/".join(Path(path).parts[-2:])
        print(f"  {row[2] / requests * 1e6:9.1f}  {where}:{line} {func}", file=sys.stderr)


def _steps() -> list[tuple[str, object, str]]:
    """The steps of POST /v1/certificates that ``spans`` times: (label, owner, attribute)."""
    import api.certificates
    import ca.ra
    from ca.apikeys import ApiKeys
    from ca.authority import CertificateAuthority
    from ca.inventory import CertificateInventory, CertificateView
    from ca.ra import RegistrationAuthority
    from ca.registry import Registry

    return [
        ("API key: ApiKeys.authenticate", ApiKeys, "authenticate"),
        ("JSON body + schema: json_body", api.certificates, "json_body"),
        ("RA.request_certificate, of which:", RegistrationAuthority, "request_certificate"),
        ("  holder: RA.organization", RegistrationAuthority, "organization"),
        ("  CSR: subject_key", ca.ra, "subject_key"),
        ("  default scope: Registry.authorized_scope", Registry, "authorized_scope"),
        ("  policy: Registry.authorize", Registry, "authorize"),
        ("  issuer scope: RA._check_issuer_scope", RegistrationAuthority, "_check_issuer_scope"),
        ("  six steps: CertificateAuthority.issue", CertificateAuthority, "issue"),
        ("answer: inventory.issued + to_json", CertificateInventory, "issued"),
        ("", CertificateView, "to_json"),
    ]


def spans(database_url: str, count: int) -> None:
    """Wall time of each step of POST /v1/certificates in one process (Flask's test client; no
    gunicorn, no profiler, one thread), and how many units of work (sessions) a request opens."""
    from api import create_app
    from ca.config import Config
    from ca.services import build_services
    from ca.storage.engine import Storage

    timers: dict[str, list[float]] = {}
    units = [0]

    def timed(label: str, original: Callable[..., object]) -> Callable[..., object]:
        @functools.wraps(original)
        def wrapper(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                timers.setdefault(label, []).append(time.perf_counter() - started)

        return wrapper

    def counted(original: Callable[..., object]) -> Callable[..., object]:
        @functools.wraps(original)
        def wrapper(*args: object, **kwargs: object) -> object:
            units[0] += 1
            return original(*args, **kwargs)

        return wrapper

    steps = _steps()
    units_of_work = [(Storage, name) for name in ("read", "transaction", "driver_transaction")]
    saved = [(owner, name, getattr(owner, name)) for _l, owner, name in steps]
    saved += [
        (owner, name, getattr(owner, name)) for owner, name in units_of_work if hasattr(owner, name)
    ]
    with tempfile.TemporaryDirectory(prefix="delegato-spans-", dir=BENCH_DIR) as tmp:
        prepared = prepare(Path(tmp), database_url, 8080)
        services = build_services(Config.load(prepared.home.path, prepared.home.environment))
        try:
            client = create_app(services=services).test_client()
            headers = {"Authorization": f"Bearer {prepared.key}"}
            body = {"csr": make_csr()[0].decode()}
            requests = {
                "issue": lambda: client.post("/v1/certificates", json=body, headers=headers),
                "x5u": lambda: client.get(prepared.x5u_paths[0]),
                "healthz": lambda: client.get("/healthz"),
            }
            for label, owner, name in steps:
                setattr(
                    owner,
                    name,
                    timed(label or "answer: inventory.issued + to_json", getattr(owner, name)),
                )
            for owner, name in units_of_work:
                if hasattr(owner, name):
                    setattr(owner, name, counted(getattr(owner, name)))
            totals = {}
            for kind, send in requests.items():
                for _ in range(max(10, count // 10)):
                    assert send().status_code in (200, 201)
                timers.clear()
                units[0] = 0
                started = time.perf_counter()
                for _ in range(count):
                    send()
                totals[kind] = (time.perf_counter() - started) / count
                if kind == "issue":
                    issue_timers, issue_units = dict(timers), units[0] / count
        finally:
            for owner, name, original in saved:
                setattr(owner, name, original)
            services.close()
    print(
        f"\n== spans: one process, one thread, {count} requests each; µs per request",
        file=sys.stderr,
    )
    for kind, seconds in totals.items():
        print(f"  {seconds * 1e6:9.0f}  {kind} (whole request through Flask)", file=sys.stderr)
    accounted = children = 0.0
    for label, _owner, _name in steps:
        spent = sum(issue_timers.get(label, [])) / count
        if label.startswith(" "):
            children += spent
        elif label:
            accounted += spent
        if label:
            print(f"  {spent * 1e6:9.0f}    {label}", file=sys.stderr)
        if label.startswith("  six steps"):
            ra = sum(issue_timers.get(steps[2][0], [])) / count
            print(
                f"  {(ra - children) * 1e6:9.0f}      other: basis transaction, metrics",
                file=sys.stderr,
            )
    rest = totals["issue"] - accounted
    print(
        f"  {rest * 1e6:9.0f}    Flask, hooks, access log, metrics, JSON rendering", file=sys.stderr
    )
    print(
        f"  {issue_units:9.1f}  units of work (database sessions) per certificate request",
        file=sys.stderr,
    )


# -- output -----------------------------------------------------------------------------------------


def print_table(results: dict[str, float]) -> None:
    healthz = results["healthz_per_s"]
    backend = "PostgreSQL" if results.get("postgres") else "SQLite"
    rows = [
        (
            f"GET /healthz ({HEADLINE} clients)",
            f"{healthz:,.0f} /s",
            "baseline",
            "",
            _lat(results, "healthz"),
        ),
        (
            f"GET x5u ({HEADLINE} clients)",
            f"{results['x5u_per_s']:,.0f} /s",
            f"{results['x5u_vs_healthz']:.1%} of healthz",
            _verdict(results["x5u_vs_healthz"], TARGETS["x5u"]),
            _lat(results, "x5u"),
        ),
    ]
    for clients in CLIENTS:
        name = f"issue_{clients}"
        ratio = results[f"{name}_per_s"] / healthz
        rows.append(
            (
                f"POST /v1/certificates ({clients} client{'s' if clients > 1 else ''})",
                f"{results[f'{name}_per_s']:,.0f} /s",
                f"{(results['issue_vs_healthz'] if clients == HEADLINE else ratio):.1%} of healthz",
                _verdict(results["issue_vs_healthz"], TARGETS["issue"])
                if clients == HEADLINE
                else "",
                _lat(results, name),
            )
        )
    print(f"delegato serve --workers 2 on {backend}; wrk (1 thread) on the same machine")
    width = max(len(r[0]) for r in rows)
    for label, value, share, target, latency in rows:
        print(f"{label:<{width}}  {value:>10}  {share:>18}  {latency}  {target}")
    app = [
        f"{k} {results[f'{k}_app_ms']:.2f} ms"
        for k in ("healthz", "x5u", "issue")
        if f"{k}_app_ms" in results
    ]
    print("median time inside Flask (access log duration_ms): " + ", ".join(app))


def _lat(results: dict[str, float], name: str) -> str:
    return (
        f"p50 {results[f'{name}_p50_ms']:6.2f} ms  p99 {results[f'{name}_p99_ms']:7.2f} ms"
        f"  server CPU {results[f'{name}_cpu_ms']:5.2f} ms/req"
    )


def _verdict(ratio: float, target: float) -> str:
    return f"target ≥ {target:.0%}: " + ("met" if ratio >= target else "NOT MET")


def as_json(results: dict[str, float]) -> dict[str, float]:
    return {
        "issue_per_s": round(results[f"issue_{HEADLINE}_per_s"], 1),
        "x5u_per_s": round(results["x5u_per_s"], 1),
        "healthz_per_s": round(results["healthz_per_s"], 1),
        "issue_p50_ms": round(results[f"issue_{HEADLINE}_p50_ms"], 3),
        "issue_p99_ms": round(results[f"issue_{HEADLINE}_p99_ms"], 3),
    }
