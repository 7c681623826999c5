"""Scheduled jobs: plain, idempotent functions, and the APScheduler wiring that runs them.

Exactly one process runs them: before each run the scheduler takes (or renews) a database lease;
a process that cannot take it skips the run. A failing run is logged and the schedule goes on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable
from typing import Any

from ca.registry.reconcile import SYSTEM_ACTOR
from ca.services import Services
from ca.storage import registry as store

log = logging.getLogger("delegato.jobs")
LEASE = "jobs"
LEASE_TTL = dt.timedelta(minutes=2)
#: A CRL is regenerated once this share of its validity has passed (RFC 5280 §5.1.2.5: publish
#: well before nextUpdate so relying parties never hold a stale one).
CRL_REFRESH_AT = 0.5


def reconcile(services: Services) -> dict[str, Any]:
    """End expired grants, revoke certificates the registry no longer authorizes, publish CRLs."""
    return services.reconciler.reconcile(actor=SYSTEM_ACTOR).to_json()


def refresh_crls(services: Services) -> dict[str, Any]:
    """Regenerate each issuer's CRL when half its validity has passed (or it has none)."""
    now = services.clock.now()
    refreshed = []
    for info in services.issuers.all():
        if info.record.role not in ("root", "sca"):
            continue
        latest = services.crls.latest(info.id)
        if latest is not None:
            life = latest.next_update - latest.this_update
            if now < latest.this_update + life * CRL_REFRESH_AT:
                continue
        services.crls.generate(info.id, actor=SYSTEM_ACTOR)
        refreshed.append(info.id)
    return {"refreshed": refreshed}


JOBS: dict[str, tuple[Callable[[Services], dict[str, Any]], dt.timedelta]] = {
    "reconcile": (reconcile, dt.timedelta(minutes=1)),
    "refresh_crls": (refresh_crls, dt.timedelta(minutes=10)),
}


def run_all_once(services: Services) -> dict[str, Any]:
    """`delegato jobs --once`: every job, in order, once."""
    return {name: job(services) for name, (job, _every) in JOBS.items()}


class Leader:
    """Holds the jobs lease for this process (one leader per database)."""

    def __init__(self, services: Services, holder: str | None = None) -> None:
        self._services = services
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def acquire(self) -> bool:
        now = self._services.clock.now()
        with self._services.storage.transaction() as session:
            return store.take_lease(session, LEASE, self.holder, now, now + LEASE_TTL)

    def release(self) -> None:
        with self._services.storage.transaction() as session:
            store.release_lease(session, LEASE, self.holder)


def run_if_leader(services: Services, leader: Leader, name: str) -> dict[str, Any] | None:
    """One scheduled run: only the lease holder works; a failure is logged, never raised."""
    if not leader.acquire():
        return None
    job, _every = JOBS[name]
    try:
        result = job(services)
    except Exception:
        log.exception("job %s failed", name, extra={"job": name})
        return None
    log.info("job %s ran", name, extra={"job": name, "result": result})
    return result


def start_scheduler(services: Services, *, blocking: bool) -> Any:
    """APScheduler running every job on its interval under the lease."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler() if blocking else BackgroundScheduler()
    leader = Leader(services)
    for name, (_job, every) in JOBS.items():
        scheduler.add_job(
            run_if_leader,
            "interval",
            args=(services, leader, name),
            seconds=every.total_seconds(),
            id=name,
            max_instances=1,
            coalesce=True,
            next_run_time=dt.datetime.now(dt.UTC),
        )
    scheduler.start()
    return scheduler


def run_forever(services: Services) -> None:
    """`delegato jobs`: the scheduler in the foreground until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        start_scheduler(services, blocking=True)
