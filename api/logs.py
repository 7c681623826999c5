"""Request ids and JSON structured logs: one line per request, one object per line.

A caller may send ``X-Request-Id`` (kept when it is short and plain); otherwise one is made. It is
echoed in the response and in every problem document, so an operator can find the log line of
any answer. Logged fields are chosen, never dumped: no header, body or key ever reaches the log.
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from flask import Flask, Response, g, request

from ca.logs import JSONFormatter, configure_logging

__all__ = ["JSONFormatter", "configure_logging", "init_app"]

REQUEST_ID_HEADER = "X-Request-Id"
_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
access_log = logging.getLogger("delegato.http")


def _request_id() -> str:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    return offered if _CLIENT_ID.fullmatch(offered) else secrets.token_hex(8)


def init_app(app: Flask) -> None:
    @app.before_request
    def _begin() -> None:
        g.request_id = _request_id()
        g.started = time.perf_counter()

    @app.after_request
    def _end(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        caller = g.get("principal")
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "request_id": g.get("request_id"),
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.get("started", 0.0)) * 1000, 2),
                "organization": caller.organization.id if caller else None,
                "key_id": caller.key.id if caller else None,
                "remote": request.remote_addr,
            },
        )
        return response
