"""Delegato's HTTP front end (Flask). The only package that imports Flask.

``create_app()`` builds an application around a ``Services`` (ca/services.py); nothing happens at
import time. Blueprints are split by audience: registry (TN authorities and enterprises),
certificates and subscriptions (holders), verify (OSPs and TSPs), the public repository and
operations.
"""

from __future__ import annotations

import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from api import logs, operations, problems
from api.body import check_parameters
from ca.config import Config
from ca.errors import CAError
from ca.services import Services, build_services

log = logging.getLogger("delegato.api")


def create_app(config: Config | None = None, services: Services | None = None) -> Flask:
    """The WSGI application over ``services`` (built from ``config`` or the environment)."""
    if services is None:
        services = build_services(config or Config.load())
        services.check_ready()
    app = Flask("delegato")
    app.extensions["delegato"] = services
    app.config["MAX_CONTENT_LENGTH"] = services.config.server.max_body
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logs.init_app(app)
    operations.init_app(app)
    app.before_request(check_parameters)  # query and path parameters, as /openapi.json says
    _register_errors(app)
    _register_blueprints(app)
    return app


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CAError)
    def _domain(error: CAError) -> Response:
        if problems.STATUS[error.kind] >= 500:
            log.error("request failed: %s", error.kind.value, extra={"kind": error.kind.value})
        return problems.from_ca_error(error)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        return problems.from_http_exception(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unexpected error")
        return problems.internal_error()


def _register_blueprints(app: Flask) -> None:
    from api.certificates import certificates
    from api.operations import operations
    from api.registry import registry
    from api.repository import repository
    from api.subscriptions import subscriptions
    from api.verify import verify

    for blueprint in (registry, certificates, subscriptions, verify, repository, operations):
        app.register_blueprint(blueprint)
