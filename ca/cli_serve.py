"""`delegato serve`: the API, the repository and the jobs leader."""

from __future__ import annotations

import click

from ca.cli_context import CLIContext, pass_cli


@click.command("serve")
@click.option("--host", help="Listen address (default: [server] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: [server] port, 8080).")
@click.option("--workers", type=click.IntRange(1, 64), help="gunicorn worker processes.")
@click.option("--no-jobs", is_flag=True, help="Do not start the jobs process here.")
@pass_cli
def serve(obj: CLIContext, host: str | None, port: int | None, workers: int | None, no_jobs: bool) -> None:
    """Serve the HTTP API and the x5u repository with gunicorn, and run the scheduled jobs."""
    from ca.serve import serve as run

    obj.services()  # fail here, in one line, if the home is not ready
    obj.close()
    run(obj.config, host=host, port=port, workers=workers, with_jobs=not no_jobs)
