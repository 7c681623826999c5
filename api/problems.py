"""The only HTTP-status table: domain error kinds and HTTP failures as RFC 9457 problem documents.

After letsencrypt/boulder ``web/probs.go``: the domain raises ``CAError`` with a closed kind; this
module alone decides the status and the ``type`` URI. ``detail`` comes from the domain, which
keeps it caller-safe; an unexpected exception answers a bare 500 whose details stay in the log.
"""

from __future__ import annotations

from typing import Any

from flask import Response, g, json
from werkzeug.exceptions import HTTPException

from ca.errors import CAError, ErrorKind

PROBLEM_JSON = "application/problem+json"
#: Stable, never dereferenced (RFC 9457 §3.1.1 allows a tag URI, RFC 4151); docs/api.md lists them.
TYPE_BASE = "tag:delegato.dev,2026:problem:"

STATUS: dict[ErrorKind, int] = {
    ErrorKind.MALFORMED: 400,
    ErrorKind.BAD_CSR: 400,
    ErrorKind.BAD_PUBLIC_KEY: 400,
    ErrorKind.UNAUTHORIZED: 401,
    ErrorKind.TN_NOT_AUTHORIZED: 403,
    ErrorKind.OUT_OF_ISSUER_SCOPE: 403,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.LINT_FAILED: 500,
    ErrorKind.INTERNAL: 500,
    ErrorKind.CONFIGURATION: 503,
    ErrorKind.KEY_UNAVAILABLE: 503,
}

TITLES: dict[ErrorKind, str] = {
    ErrorKind.MALFORMED: "The request breaks a rule",
    ErrorKind.BAD_CSR: "The CSR is unusable",
    ErrorKind.BAD_PUBLIC_KEY: "The public key is not allowed",
    ErrorKind.UNAUTHORIZED: "No valid API key",
    ErrorKind.TN_NOT_AUTHORIZED: "The TN registry does not authorize these numbers",
    ErrorKind.OUT_OF_ISSUER_SCOPE: "Outside the issuer's TNAuthList",
    ErrorKind.FORBIDDEN: "Not allowed for this key",
    ErrorKind.NOT_FOUND: "Not found",
    ErrorKind.CONFLICT: "Conflicts with the current state",
    ErrorKind.LINT_FAILED: "The certificate failed its lints; nothing was signed",
    ErrorKind.INTERNAL: "Internal error",
    ErrorKind.CONFIGURATION: "The service is not configured",
    ErrorKind.KEY_UNAVAILABLE: "An issuer key is unavailable",
}

#: HTTP failures that happen before a handler runs (routing, body limits, methods).
HTTP_SLUGS = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "request-too-large",
    415: "unsupported-media-type",
}


def problem_type(slug: str) -> str:
    return TYPE_BASE + slug


def render(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    field: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if field:
        body["field"] = field
    if errors:
        body["errors"] = errors
    request_id = g.get("request_id")
    if request_id:
        body["request_id"] = request_id
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_ca_error(error: CAError) -> Response:
    status = STATUS[error.kind]
    if status >= 500 and error.kind is not ErrorKind.LINT_FAILED:
        detail = "the service could not complete the request; the log has the details"
    else:
        detail = error.detail
    errors = [
        {k: v for k, v in (("detail", p.detail), ("field", p.field), ("value", p.value)) if v}
        for p in error.subproblems
    ]
    headers = {"WWW-Authenticate": 'Bearer realm="delegato"'} if status == 401 else None
    return render(
        status,
        error.kind.value,
        TITLES[error.kind],
        detail,
        field=error.field,
        errors=errors,
        headers=headers,
    )


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    slug = HTTP_SLUGS.get(status, "http-error")
    response = render(status, slug, error.name, error.description or error.name)
    if status == 405 and error.get_response().headers.get("Allow"):
        response.headers["Allow"] = error.get_response().headers["Allow"]
    return response


def internal_error() -> Response:
    return render(
        500,
        ErrorKind.INTERNAL.value,
        TITLES[ErrorKind.INTERNAL],
        "the service could not complete the request; the log has the details",
    )
