"""`delegato serve`: gunicorn workers for the API and the repository, plus the jobs process.

The workers load the Flask application by name (``api.wsgi:application()``), so this module and
the rest of ``ca`` never import Flask. The jobs run in one child process started when gunicorn is
ready and stopped when it exits; the database lease (ca/jobs.py) keeps them to one process even
when several servers share a database. Prometheus values of every process go to one directory
that /metrics adds up.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from ca import serve_worker
from ca.config import Config

APP = "api.wsgi:application()"
log = logging.getLogger("delegato.serve")


class DelegatoServer(BaseApplication):
    """gunicorn configured from code: no gunicorn.conf.py to find or to drift."""

    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self._options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        from gunicorn.util import import_app

        return import_app(APP)


class JobsProcess:
    """`delegato jobs` as a child of the gunicorn arbiter."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, _server: Any = None) -> None:
        self._process = subprocess.Popen([sys.executable, "-m", "ca", "jobs"])
        log.info("jobs process %s started", self._process.pid)

    def stop(self, _server: Any = None) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()


def _run_dir(config: Config) -> Path:
    """This server's own runtime directory (several servers may share one home)."""
    path = config.home / "run" / f"serve-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _metrics_dir(run: Path) -> str:
    """A fresh multiprocess directory: values of a previous run must not be added in."""
    path = run / "metrics"
    path.mkdir()
    return str(path)


def _worker_exit(_server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
    serve_worker.free_slot(worker)


def serve(
    config: Config,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    with_jobs: bool = True,
) -> None:
    """Run until SIGINT/SIGTERM: gunicorn (gthread workers) and, unless told not to, the jobs."""
    settings = config.server
    os.environ["DELEGATO_HOME"] = str(config.home)
    run = _run_dir(config)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir(run)
    jobs = JobsProcess()
    # Inherited by every worker gunicorn forks, up to the configuration's most workers (64).
    serve_worker.TABLE = serve_worker.ConnectionTable(64)
    serve_worker.PIN_CPUS = settings.pin_cpus
    options: dict[str, Any] = {
        "bind": f"{host or settings.host}:{port or settings.port}",
        "workers": workers or settings.workers,
        "worker_class": "ca.serve_worker.BalancedThreadWorker",  # gthread, shared evenly
        "threads": settings.threads,
        "proc_name": "delegato",
        "accesslog": None,  # the application writes one JSON line per request itself
        "errorlog": "-",
        "limit_request_line": 8190,
        "limit_request_field_size": 8190,
        "graceful_timeout": 20,
        "keepalive": 5,
        "pre_fork": serve_worker.assign_slot,
        "child_exit": _worker_exit,
        # Not the per-user default (~/.gunicorn/gunicorn.ctl), which every server would share.
        "control_socket": str(run / "gunicorn.ctl"),
    }
    if with_jobs:
        options["when_ready"] = jobs.start

    def on_exit(server: Any) -> None:
        jobs.stop(server)
        shutil.rmtree(run, ignore_errors=True)

    options["on_exit"] = on_exit
    DelegatoServer(options).run()
