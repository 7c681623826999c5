"""Prometheus metrics of the domain: issuance, revocation, subscriptions, jobs.

Counted where the work happens, exposed by api/operations.py. Under gunicorn each process writes
its own values to ``PROMETHEUS_MULTIPROC_DIR`` (set by `delegato serve` before any worker
starts) and a scrape adds them up, so the figures are the service's, not one worker's.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram

ISSUED = Counter(
    "delegato_certificates_issued", "Delegate certificates issued", ["basis"]
)
ISSUANCE_SECONDS = Histogram(
    "delegato_issuance_seconds",
    "Time to issue one certificate: authorize, lint, sign, store",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
REVOKED = Counter(
    "delegato_revocations", "Certificates revoked", ["reason", "source"]
)  # source: holder | operator | registry
RENEWALS = Counter(
    "delegato_subscription_renewals", "Subscription renewals", ["outcome"]
)  # outcome: renewed | ended | failed
JOB_RUNS = Counter("delegato_job_runs", "Scheduled job runs", ["job"])
JOB_FAILURES = Counter("delegato_job_failures", "Scheduled job runs that failed", ["job"])
SQLITE_CHECKPOINTS = Counter(
    "delegato_sqlite_checkpoints", "Background WAL checkpoints of the SQLite store", ["outcome"]
)  # outcome: done | busy (another process was checkpointing) | failed
SQLITE_CHECKPOINT_SECONDS = Histogram(
    "delegato_sqlite_checkpoint_seconds",
    "Time one background WAL checkpoint took (copying the log into the database, fsyncs included)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
HTTP_REQUESTS = Counter(
    "delegato_http_requests", "HTTP requests answered", ["endpoint", "method", "status"]
)
HTTP_SECONDS = Histogram(
    "delegato_http_request_seconds",
    "Time to answer an HTTP request",
    ["endpoint"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)


def job_ran(run: Any) -> None:
    """A jobs observer (ca/jobs.py): count runs and failures; a skipped run did no work."""
    if run.outcome == "skipped":
        return
    JOB_RUNS.labels(run.name).inc()
    if run.outcome == "failed":
        JOB_FAILURES.labels(run.name).inc()


def renewals(report: Any) -> None:
    """A subscriptions observer: count what each renewal pass did."""
    for outcome in ("renewed", "ended", "failed"):
        count = len(getattr(report, outcome))
        if count:
            RENEWALS.labels(outcome).inc(count)
