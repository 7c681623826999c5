"""The public repository (STANDARDS.md §5): x5u certificate chains, CRLs and CA certificates.

No authentication, no redirects: a verifier fetches these URLs directly. The bytes and headers
come from ca/repository.py, which the file publisher shares, so nginx and Flask serve the same.
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from api.auth import services
from ca.repository import PublishedObject

repository = Blueprint("repository", __name__)


def _serve(published: PublishedObject) -> Response:
    response = Response(published.body, headers=published.headers())
    if "If-None-Match" in request.headers or "If-Modified-Since" in request.headers:
        response.make_conditional(request)
    return response


@repository.get("/certs/<name>")
def certificate_chain(name: str) -> Response:
    return _serve(services().repository.certificate_chain(_stem(name, ".pem")))


@repository.get("/crl/<name>")
def crl(name: str) -> Response:
    return _serve(services().repository.crl(_stem(name, ".crl")))


@repository.get("/ca/<name>")
def ca_certificate(name: str) -> Response:
    return _serve(services().repository.ca_certificate(_stem(name, ".pem")))


def _stem(name: str, suffix: str) -> str:
    # A name without the suffix is passed on as is: the repository answers 404 for it.
    return name[: -len(suffix)] if name.endswith(suffix) else "\0" + name
