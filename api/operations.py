"""Operations: liveness, readiness, Prometheus metrics, the OpenAPI document and its docs page."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from api.auth import services
from api.docs_page import render_docs
from api.openapi import document_for
from ca import metrics
from ca.errors import CAError
from ca.services import Services

operations = Blueprint("operations", __name__)
log = logging.getLogger("delegato.api")


@operations.get("/healthz")
def healthz() -> Any:
    return {"status": "ok"}


@operations.get("/readyz")
def readyz() -> Any:
    checks: dict[str, str] = {}
    svc = services()
    for name, check in (("database", svc.storage.ping), ("issuer_keys", svc.issuers.check_keys)):
        try:
            check()
            checks[name] = "ok"
        except CAError as error:
            checks[name] = error.detail
        except Exception:  # readiness reports; the log keeps the details
            log.exception("readiness check %s failed", name)
            checks[name] = "failed; the log has the details"
    ready = all(value == "ok" for value in checks.values())
    return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503


class CRLCollector(Collector):
    """CRL age and time to nextUpdate per issuer, read at scrape time."""

    def __init__(self, svc: Services) -> None:
        self._services = svc

    def collect(self) -> Iterator[GaugeMetricFamily]:
        age = GaugeMetricFamily(
            "delegato_crl_age_seconds", "Seconds since the latest CRL's thisUpdate", labels=["issuer"]
        )
        left = GaugeMetricFamily(
            "delegato_crl_next_update_seconds",
            "Seconds until the latest CRL's nextUpdate",
            labels=["issuer"],
        )
        now = self._services.clock.now()
        for info in self._services.issuers.all():
            if info.record.role not in ("root", "sca"):
                continue
            latest = self._services.crls.latest(info.id)
            if latest is not None:
                age.add_metric([info.id], (now - latest.this_update).total_seconds())
                left.add_metric([info.id], (latest.next_update - now).total_seconds())
        yield age
        yield left


@operations.get("/metrics")
def metrics_endpoint() -> Response:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
        body = b""
    else:
        body = generate_latest(REGISTRY)
    registry.register(CRLCollector(services()))
    return Response(body + generate_latest(registry), mimetype=CONTENT_TYPE_LATEST.split(";")[0])


@operations.get("/openapi.json")
def openapi() -> Any:
    return document_for(services().config.public_url)


@operations.get("/docs")
def docs() -> Response:
    return Response(render_docs(document_for(services().config.public_url)), mimetype="text/html")


def init_app(app: Flask) -> None:
    """Count every answer by route (not by raw path, which would grow without bound)."""

    @app.before_request
    def _start() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.HTTP_REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        started = g.get("metrics_started")
        if started is not None:
            metrics.HTTP_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
        return response
