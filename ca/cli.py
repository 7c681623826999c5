"""The `delegato` command line: one click group, a context object, each command a few lines.

Every command takes ``--json``; errors print one line on stderr naming the input and the rule,
exit non-zero, and write nothing.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from ca.cli_context import CLIContext, DelegatoGroup, actor, json_option, pass_cli
from ca.cli_registry import assign, delegate, jobs, key, release, status, trace, transfer
from ca.cli_tools import lint_command, tnauth
from ca.durations import parse_duration
from ca.errors import CAError, ErrorKind
from ca.services import build_services, initialize_home
from ca.tnauth import TNAuthList

DEFAULT_SCA_RANGES = ("12025550000:10000", "18885550000:10000")


@click.group(cls=DelegatoGroup)
@click.option(
    "--home",
    envvar="DELEGATO_HOME",
    type=click.Path(file_okay=False),
    help="Delegato home directory (DELEGATO_HOME).",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.version_option(package_name="delegato")
@click.pass_context
def cli(ctx: click.Context, home: str | None, as_json: bool) -> None:
    """Delegato: a delegate-certificate authority for STIR/SHAKEN."""
    ctx.obj = CLIContext(home=home, as_json=as_json)


def scope_from_options(tns: tuple[str, ...], ranges: tuple[str, ...]) -> TNAuthList:
    return TNAuthList.from_user(tns=tns, ranges=ranges)


# --- init ----------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--spc",
    default="1234",
    show_default=True,
    help="The operator's SPC/OCN for the SCA's TNAuthList.",
)
@click.option(
    "--sca-range",
    "sca_ranges",
    multiple=True,
    metavar="START:COUNT",
    help="Number block of the SCA (repeatable).",
)
@click.option(
    "--crl-model", type=click.Choice(["direct", "indirect"]), default="direct", show_default=True
)
@click.option("--public-url", help="Public base URL of x5u and CRL links (DELEGATO_PUBLIC_URL).")
@json_option
@pass_cli
def init(
    obj: CLIContext, spc: str, sca_ranges: tuple[str, ...], crl_model: str, public_url: str | None
) -> None:
    """Create the config, the embedded database and a development trust hierarchy."""
    config = obj.config
    if public_url:
        config = dataclasses.replace(config, public_url=public_url)
    spc = spc.strip().upper()
    scope = TNAuthList.from_user(spcs=[spc] if spc else [], ranges=sca_ranges or DEFAULT_SCA_RANGES)
    services = obj.adopt(build_services(config))
    hierarchy = initialize_home(
        services, spc=spc, sca_scope=scope, crl_model=crl_model, actor=actor()
    )
    sca = services.issuers.get(hierarchy.sca_id)
    data = {
        "home": str(config.home),
        "trust_anchor": str(hierarchy.trust_anchor),
        "issuer": str(hierarchy.issuer),
        "issuer_id": hierarchy.sca_id,
        "root_id": hierarchy.root_id,
        "crl_model": crl_model,
        "sca_tn_auth_list": sca.tn_auth_list.to_json() if sca.tn_auth_list else [],
        "database": config.database_url,
    }
    obj.emit(
        data,
        f"Initialized Delegato home {config.home}\n"
        f"  trust anchor (test STI-CA root): {hierarchy.trust_anchor}\n"
        f"  issuer (SCA {hierarchy.sca_id}):  {hierarchy.issuer}\n"
        f"  database: {config.database_url}\n\n"
        "Issue a first certificate:\n"
        "  delegato org add --kind enterprise --name 'Example Corp'\n"
        "  openssl ecparam -name prime256v1 -genkey -noout -out holder.key\n"
        "  openssl req -new -key holder.key -subj '/CN=holder' -out holder.csr\n"
        "  delegato cert issue --org <org id> --csr holder.csr --range 12025550100:100 --out chain.pem",
    )


# --- organizations -------------------------------------------------------------------------


@cli.group()
def org() -> None:
    """Organizations: enterprises, BPOs, TN authorities."""


@org.command("add")
@click.option(
    "--kind", type=click.Choice(["enterprise", "bpo", "tn_authority", "operator"]), required=True
)
@click.option("--name", required=True)
@click.option("--spid", help="SPID/OCN (TNSP) or RespOrg id.")
@json_option
@pass_cli
def org_add(obj: CLIContext, kind: str, name: str, spid: str | None) -> None:
    """Onboard an organization and print its id."""
    created = obj.services().organizations.add(kind, name, spid, actor=actor())
    obj.emit(
        {"id": created.id, "kind": created.kind, "name": created.name, "spid": created.spid},
        created.id,
    )


# --- certificates --------------------------------------------------------------------------


@cli.group()
def cert() -> None:
    """Delegate certificates: issue, revoke, show."""


@cert.command("issue")
@click.option("--org", "org_id", required=True, help="Holder organization id.")
@click.option(
    "--csr",
    "csr_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="PKCS#10 CSR (PEM or DER), P-256.",
)
@click.option("--tn", "tns", multiple=True, metavar="N", help="A telephone number (repeatable).")
@click.option(
    "--range", "ranges", multiple=True, metavar="START:COUNT", help="A number block (repeatable)."
)
@click.option(
    "--lifetime", help="Validity, e.g. 24h (default from config, at most issuance.max_lifetime)."
)
@click.option(
    "--out", type=click.Path(dir_okay=False), help="Write the PEM chain (leaf first) here."
)
@click.option("--operator-reason", help="Audited reason for an operator issuance.")
@json_option
@pass_cli
def cert_issue(
    obj: CLIContext,
    org_id: str,
    csr_file: str,
    tns: tuple[str, ...],
    ranges: tuple[str, ...],
    lifetime: str | None,
    out: str | None,
    operator_reason: str | None,
) -> None:
    """Issue a delegate certificate for numbers the TN registry authorizes now.

    Without --tn/--range it covers every number the holder may use now. --operator-reason
    overrides the registry (audited); the numbers must still lie within the issuer's scope.
    """
    from ca.ra import CertificateRequest

    csr = _read_input(csr_file, "csr")
    request = CertificateRequest(
        organization_id=org_id,
        csr=csr,
        tn_auth_list=scope_from_options(tns, ranges) if tns or ranges else None,
        actor=actor(),
        lifetime=parse_duration(lifetime, "lifetime") if lifetime else None,
        operator_reason=operator_reason,
    )
    issued = obj.services().ra.request_certificate(request)
    if out:
        Path(out).write_bytes(issued.chain_pem)
    data = {
        "serial": issued.serial,
        "x5u": issued.x5u,
        "issuer": issued.issuer_id,
        "not_before": issued.not_before.isoformat(),
        "not_after": issued.not_after.isoformat(),
    }
    if out:
        data["out"] = out
    obj.emit(data)


@cert.command("revoke")
@click.argument("serial")
@click.option(
    "--reason", required=True, help="keyCompromise, cessationOfOperation, affiliationChanged, ..."
)
@click.option("--comment", help="Free text kept in the audit trail.")
@json_option
@pass_cli
def cert_revoke(obj: CLIContext, serial: str, reason: str, comment: str | None) -> None:
    """Revoke a certificate (as the operator) and publish a fresh CRL."""
    from ca.revocation import RevocationReason

    revocation = obj.services().ra.revoke(
        serial, RevocationReason.parse(reason), actor=actor(), operator=True, comment=comment
    )
    obj.emit(
        {
            "serial": revocation.serial,
            "reason": revocation.reason,
            "revoked_at": revocation.revoked_at.isoformat(),
            "issuer": revocation.issuer_id,
        }
    )


@cert.command("show")
@click.argument("serial")
@json_option
@pass_cli
def cert_show(obj: CLIContext, serial: str) -> None:
    """Show a stored certificate and its revocation status."""
    record = obj.services().ra.certificate(serial)
    revocation = record.revocation
    obj.emit(
        {
            "serial": record.serial,
            "organization": record.organization_id,
            "issuer": record.issuer_id,
            "not_before": record.not_before.isoformat(),
            "not_after": record.not_after.isoformat(),
            "x5u": obj.services().config.certificate_url(record.serial),
            "status": "revoked" if revocation else "valid",
            "revocation_reason": revocation.reason if revocation else None,
        }
    )


# --- CRLs ----------------------------------------------------------------------------------


@cli.group()
def crl() -> None:
    """Certificate revocation lists."""


@crl.command("generate")
@click.option(
    "--issuer",
    "issuer_id",
    help="Issuer id (default: every root and SCA; with --out, the active SCA).",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write the DER CRL here.")
@json_option
@pass_cli
def crl_generate(obj: CLIContext, issuer_id: str | None, out: str | None) -> None:
    """Generate (lint, sign, store) the next CRL."""
    services = obj.services()
    if issuer_id:
        targets = [services.issuers.get(issuer_id)]
    elif out:
        targets = [services.issuers.active_sca()]
    else:
        targets = [i for i in services.issuers.all() if i.record.role in ("root", "sca")]
    records = [services.crls.generate(info.id, actor=actor()) for info in targets]
    if out:
        Path(out).write_bytes(records[0].der)
    rows = [
        {
            "issuer": r.issuer_id,
            "number": r.number,
            "this_update": r.this_update.isoformat(),
            "next_update": r.next_update.isoformat(),
            "url": services.config.crl_url(r.issuer_id),
        }
        for r in records
    ]
    obj.emit(
        {"crls": rows}, "\n".join(f"{r['issuer']}: CRL #{r['number']} -> {r['url']}" for r in rows)
    )


# --- audit ---------------------------------------------------------------------------------


@cli.group()
def audit() -> None:
    """The hash-chained audit trail."""


@audit.command("verify")
@json_option
@pass_cli
def audit_verify(obj: CLIContext) -> None:
    """Check that no audit event was changed, removed or reordered."""
    services = obj.services()
    with services.storage.read() as session:
        result = services.audit.verify(session)
    obj.emit(
        {
            "ok": result.ok,
            "events": result.events,
            "head": result.head_seq,
            "problems": list(result.problems),
        },
        f"audit chain intact: {result.events} events"
        if result.ok
        else "audit chain BROKEN:\n" + "\n".join(f"  - {p}" for p in result.problems),
    )
    if not result.ok:
        sys.exit(1)


def _read_input(path: str, field: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CAError(
            ErrorKind.MALFORMED, f"cannot read {path}: {exc.strerror}", field=field
        ) from None


def main() -> None:
    cli(prog_name="delegato")


cli.add_command(tnauth)
cli.add_command(lint_command)
for command in (key, assign, delegate, transfer, release, status, jobs):
    cli.add_command(command)
audit.add_command(trace)

from ca.cli_verify import sign, verify  # noqa: E402

cli.add_command(verify)
cli.add_command(sign)

from ca.cli_publish import publish  # noqa: E402

cli.add_command(publish)

from ca.cli_serve import serve  # noqa: E402

cli.add_command(serve)

from ca.cli_demo import demo  # noqa: E402

cli.add_command(demo)
