"""`delegato demo`: the whole story, end to end, against a live server."""

from __future__ import annotations

import click

from ca.cli_context import CLIContext, actor, json_option, pass_cli


@click.command("demo")
@click.option("--url", help="Base URL of the running server (default: [server] host and port).")
@json_option
@pass_cli
def demo(obj: CLIContext, url: str | None) -> None:
    """Assign, delegate, subscribe, fetch the x5u, sign and verify a call, end the campaign."""
    from ca.demo import run_demo

    services = obj.services()
    server = services.config.server
    base = url or f"http://{server.host}:{server.port}"
    echo = (lambda _line: None) if obj.as_json else click.echo
    story = run_demo(services, base, actor(), echo)
    if obj.as_json:
        obj.emit({"url": base, "steps": story.steps})
    else:
        click.echo(f"\nThe story is complete: {len(story.steps)} steps against {base}.")
