"""scripts/bench registry: the TN registry on PostgreSQL at production scale.

10,000,000 numbers in 1,000,000 assignments (1,000 enterprises holding 1,000 blocks of ten), loaded
through the bulk-import path. Measured beside one primary-key SELECT on the same database in the
same run: authorize() of a 10,000-number scope, a signed status lookup of one number, the import
rate. Targets: authorize < 50 ms median, status < 2 ms median, import >= 50,000 rows/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from benchmarks import initialized
from ca.config import Config
from ca.registry.csvimport import parse_csv
from ca.services import Services
from ca.storage.models import AssignmentRow
from ca.tnauth import TNAuthList
from tests.support import pgcluster

BASE = 12_000_000_000
BLOCK = 10  # numbers per assignment
PER_ENTERPRISE = 1_000  # assignments per enterprise: 10,000 numbers each
BATCH = 100_000  # rows per import file
#: The server memory a production registry of this size would be given (the throwaway cluster's
#: defaults are a laptop's: 128 MB of shared buffers for a 2 GB table set).
SERVER = {
    "shared_buffers": "2GB",
    "maintenance_work_mem": "512MB",
    "work_mem": "64MB",
    "max_wal_size": "8GB",
    "wal_buffers": "64MB",
    "effective_cache_size": "8GB",
}


def median_ms(operation: Callable[[], object], count: int) -> float:
    for _ in range(max(2, count // 10)):
        operation()
    timings = []
    for _ in range(count):
        start = time.perf_counter()
        operation()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


def _csv(authority: str, enterprises: list[str], first: int, rows: int, expires: str) -> bytes:
    lines = ["authority,enterprise,range,expires_at,evidence"]
    for i in range(first, first + rows):
        start = BASE + BLOCK * i
        lines.append(
            f"{authority},{enterprises[i // PER_ENTERPRISE]},{start}:{BLOCK},{expires},LOA {i}"
        )
    return ("\n".join(lines) + "\n").encode()


def _load(services: Services, assignments: int) -> tuple[float, list[str]]:
    """Import every block through the CSV path; rows per second over the whole load."""
    actor = "bench"
    authority = services.organizations.add("tn_authority", "Bench TNSP", "BNCH", actor=actor).id
    enterprises = [
        services.organizations.add("enterprise", f"Enterprise {i}", actor=actor).id
        for i in range(assignments // PER_ENTERPRISE)
    ]
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=365)).isoformat()
    elapsed = 0.0
    for first in range(0, assignments, BATCH):
        data = _csv(authority, enterprises, first, min(BATCH, assignments - first), expires)
        start = time.perf_counter()
        parsed = parse_csv(data, services.clock.now())
        services.registry.post_many(
            "assignment", parsed.requests, actor=actor, source=f"csv:{parsed.sha256}"
        )
        elapsed += time.perf_counter() - start
    with services.storage.transaction() as session:
        session.connection().exec_driver_sql("ANALYZE")
    return assignments / elapsed, enterprises


def run(args: argparse.Namespace) -> dict[str, float]:
    assignments = 100_000 if args.quick else 1_000_000
    with (
        pgcluster.throwaway_cluster("bench-registry", SERVER) as url,
        tempfile.TemporaryDirectory(prefix="delegato-bench-") as home,
    ):
        services = initialized(Config(home=Path(home), database_url=url))
        try:
            rate, enterprises = _load(services, assignments)
            return _measure(services, enterprises, assignments, rate, 20 if args.quick else 50)
        finally:
            services.close()


def _measure(
    services: Services, enterprises: list[str], assignments: int, rate: float, count: int
) -> dict[str, float]:
    rng = random.Random(7)
    with services.storage.read() as session:
        ids = list(session.scalars(select(AssignmentRow.id).limit(2000)))

    def pk_select() -> object:
        with services.storage.read() as session:
            return session.get(AssignmentRow, rng.choice(ids))

    def authorize() -> object:
        index = rng.randrange(len(enterprises))
        first = BASE + index * PER_ENTERPRISE * BLOCK
        scope = TNAuthList.from_user(ranges=[f"{first}:{PER_ENTERPRISE * BLOCK}"])
        return services.registry.authorize(enterprises[index], scope)

    def status() -> object:
        return services.registry.status(str(BASE + rng.randrange(assignments * BLOCK)))

    return {
        "pk_select_ms": median_ms(pk_select, count * 10),
        "authorize_10k_ms": median_ms(authorize, count),
        "status_ms": median_ms(status, count * 10),
        "import_rows_per_s": rate,
        "assignments": float(assignments),
    }


def print_table(results: dict[str, float]) -> None:
    pk = results["pk_select_ms"]
    rows = [
        (
            "dataset",
            f"{results['assignments']:,.0f} assignments",
            f"{results['assignments'] * BLOCK:,.0f} numbers",
            "",
        ),
        ("primary-key SELECT", f"{pk:.3f} ms", "baseline", ""),
        (
            "authorize() 10,000 numbers",
            f"{results['authorize_10k_ms']:.2f} ms",
            f"{results['authorize_10k_ms'] / pk:.0f}x the SELECT",
            "target < 50 ms",
        ),
        (
            "signed status of one number",
            f"{results['status_ms']:.3f} ms",
            f"{results['status_ms'] / pk:.1f}x the SELECT",
            "target < 2 ms",
        ),
        (
            "bulk import",
            f"{results['import_rows_per_s']:,.0f} rows/s",
            "",
            "target >= 50,000 rows/s",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, ratio, target in rows:
        print(f"{name:<{width}}  {value:>24}  {ratio:>22}  {target}")


def as_json(results: dict[str, float]) -> dict[str, float]:
    keys = ("authorize_10k_ms", "status_ms", "import_rows_per_s", "pk_select_ms")
    return {key: round(results[key], 4) for key in keys}
