"""Scheduled jobs: plain, idempotent functions, and the APScheduler wiring that runs them.

Exactly one process runs them: before each run the scheduler takes (or renews) a database lease;
a process that cannot take it skips the run. A failing run is logged and the schedule goes on.
Every scheduled run is reported to the functions in ``OBSERVERS`` (metrics read them there).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from ca import metrics
from ca.logs import configure_logging
from ca.registry.reconcile import SYSTEM_ACTOR
from ca.services import Services
from ca.storage import leases, retention
from ca.storage import subscriptions as subscription_store

log = logging.getLogger("delegato.jobs")
LEASE = "jobs"
LEASE_TTL = dt.timedelta(minutes=2)
#: A CRL is regenerated once this share of its validity has passed (RFC 5280 §5.1.2.5: publish
#: well before nextUpdate so relying parties never hold a stale one).
CRL_REFRESH_AT = 0.5
PURGE_ACTOR = "system:purge"

# Retention of the purge job. Certificates, revocations, grants, spans, serials and audit events
# are never purged: traceback ("who could present N at T, on whose word, under which
# certificate") and the audit chain need them for as long as the database lives.
#: A superseded CRL is kept a week past its nextUpdate: until then a relying party may still hold
#: it and ask what it said; after, the revocations it listed (kept forever) answer that.
CRL_RETENTION = dt.timedelta(days=7)
#: A lease that ran out a day ago belongs to a process that is gone.
LEASE_RETENTION = dt.timedelta(days=1)
#: An intent without a certificate is kept until any certificate it might stand for (a crash
#: between signing and storing, step 5 to 6) has expired, plus this margin: until then its lint
#: copy is the only full record of what may have been signed.
INTENT_GRACE = dt.timedelta(days=1)
#: An ended subscription is kept three months for its holder to look at; its certificates and
#: audit events stay after it.
SUBSCRIPTION_RETENTION = dt.timedelta(days=90)


def reconcile(services: Services) -> dict[str, Any]:
    """End expired grants, revoke certificates the registry no longer authorizes, publish CRLs."""
    return services.reconciler.reconcile(actor=SYSTEM_ACTOR).to_json()


def refresh_crls(services: Services) -> dict[str, Any]:
    """Regenerate each issuer's CRL when half its validity has passed, when it has none, or when
    it names another URL than the configured one (the public URL moved: verifiers compare the
    issuing distribution point with the URL they fetched, RFC 5280 §6.3.3)."""
    now = services.clock.now()
    refreshed = []
    for info in services.issuers.all():
        if info.record.role not in ("root", "sca"):
            continue
        latest = services.crls.latest(info.id)
        if latest is not None and _distribution_point(latest.der) == info.crl_url:
            life = latest.next_update - latest.this_update
            if now < latest.this_update + life * CRL_REFRESH_AT:
                continue
        services.crls.generate(info.id, actor=SYSTEM_ACTOR)
        refreshed.append(info.id)
    return {"refreshed": refreshed}


def _distribution_point(der: bytes) -> str | None:
    crl = x509.load_der_x509_crl(der)
    try:
        idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
    except x509.ExtensionNotFound:
        return None
    names = idp.full_name or []
    return str(names[0].value) if names else None


def renew_subscriptions(services: Services) -> dict[str, Any]:
    """Renew the subscriptions that are due or whose certificate was revoked (RFC 8739 STAR)."""
    return services.subscriptions.renew_due().to_json()


def purge(services: Services) -> dict[str, int]:
    """Delete what is long dead and answers no traceback question (see the retention above)."""
    now = services.clock.now()
    longest = services.config.issuance.max_lifetime
    with services.storage.transaction() as session:
        purged = {
            "crls": retention.delete_superseded_crls(session, now - CRL_RETENTION),
            "leases": retention.delete_expired_leases(session, now - LEASE_RETENTION),
            "intents": retention.delete_orphan_intents(session, now - longest - INTENT_GRACE),
            "subscriptions": subscription_store.delete_ended_subscriptions(
                session, now - SUBSCRIPTION_RETENTION
            ),
        }
        if any(purged.values()):
            services.audit.record(
                session,
                actor=PURGE_ACTOR,
                action="data.purged",
                object_type="database",
                object_id="purge",
                details=purged,
            )
    return purged


JOBS: dict[str, tuple[Callable[[Services], dict[str, Any]], dt.timedelta]] = {
    "reconcile": (reconcile, dt.timedelta(minutes=1)),
    "renew_subscriptions": (renew_subscriptions, dt.timedelta(minutes=1)),
    "refresh_crls": (refresh_crls, dt.timedelta(minutes=10)),
    "purge": (purge, dt.timedelta(days=1)),
}


@dataclass(frozen=True)
class JobRun:
    """One scheduled run of a job, as observers see it."""

    name: str
    outcome: str  # ok | failed | skipped (another process holds the lease)
    seconds: float
    result: dict[str, Any] | None = None
    error: str | None = None


JobObserver = Callable[[JobRun], object]
#: Called after every scheduled run (run_if_leader); an observer that raises is logged, ignored.
OBSERVERS: list[JobObserver] = [metrics.job_ran]


def run_all_once(services: Services) -> dict[str, Any]:
    """`delegato jobs --once`: every job, in order, once."""
    return {name: job(services) for name, (job, _every) in JOBS.items()}


class Leader:
    """Holds the jobs lease for this process (one leader per database)."""

    def __init__(self, services: Services, holder: str | None = None) -> None:
        self._services = services
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        # The scheduler starts several jobs at once on threads of this process; one at a time
        # takes or renews the lease, so they never race each other for the first row.
        with self._lock:
            now = self._services.clock.now()
            with self._services.storage.transaction() as session:
                return leases.take_lease(session, LEASE, self.holder, now, now + LEASE_TTL)

    def release(self) -> None:
        with self._services.storage.transaction() as session:
            leases.release_lease(session, LEASE, self.holder)


def run_if_leader(services: Services, leader: Leader, name: str) -> dict[str, Any] | None:
    """One scheduled run: only the lease holder works; a failure is logged, never raised."""
    if not leader.acquire():
        _observe(JobRun(name, "skipped", 0.0))
        return None
    job, _every = JOBS[name]
    started = time.monotonic()
    try:
        result = job(services)
    except Exception as exc:
        log.exception("job %s failed", name, extra={"job": name})
        _observe(JobRun(name, "failed", time.monotonic() - started, error=type(exc).__name__))
        return None
    log.info("job %s ran", name, extra={"job": name, "result": result})
    _observe(JobRun(name, "ok", time.monotonic() - started, result=result))
    return result


def _observe(run: JobRun) -> None:
    for observer in list(OBSERVERS):
        try:
            observer(run)
        except Exception:
            log.exception("a job observer failed", extra={"job": run.name})


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
    configure_logging()
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        start_scheduler(services, blocking=True)
