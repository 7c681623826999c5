"""`delegato publish`: write the whole repository to the file publisher's directory."""

from __future__ import annotations

from pathlib import Path

import click

from ca.cli_context import CLIContext, json_option, pass_cli
from ca.errors import CAError, ErrorKind
from ca.publish import FilePublisher


@click.command("publish")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    help="Publication directory (default: [repository] directory in delegato.toml).",
)
@json_option
@pass_cli
def publish(obj: CLIContext, directory: str | None) -> None:
    """Write every CA certificate, latest CRL and unexpired certificate chain as files.

    Safe to repeat: files already right are left alone. Serve the directory with
    deploy/nginx.conf.
    """
    services = obj.services()
    target = Path(directory).resolve() if directory else services.config.repository.directory
    if target is None:
        raise CAError(
            ErrorKind.CONFIGURATION,
            "no publication directory: pass --dir or set [repository] directory",
            field="repository.directory",
        )
    report = FilePublisher(target, services.repository).publish_all()
    obj.emit(
        {
            "directory": str(target),
            "certificates": report.certificates,
            "crls": report.crls,
            "ca_certificates": report.ca_certificates,
            "written": report.written,
        },
        f"published {report.certificates} certificate chain(s), {report.crls} CRL(s) and "
        f"{report.ca_certificates} CA certificate(s) to {target} ({report.written} file(s) written)",
    )
