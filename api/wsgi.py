"""The WSGI entry point gunicorn loads in each worker: ``api.wsgi:application()``."""

from __future__ import annotations

from flask import Flask

from api import create_app
from api.logs import configure_logging


def application() -> Flask:
    """JSON logs on stderr, then the app over the home named by DELEGATO_HOME."""
    configure_logging()
    return create_app()
