"""`delegato verify` and `delegato sign`: the verifier and the STI-AS helper, no home needed.

Both work where `delegato init` never ran: `verify` needs only a trust file (a TSP installs the
verifier alone), `sign` only the delegate holder's key. ARCHITECTURE.md "Interfaces", issue 5.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ca.cli_context import CLIContext, json_option, pass_cli
from ca.clock import FixedClock, SystemClock
from ca.config import Config
from ca.durations import parse_when
from ca.errors import malformed
from ca.verifier import VerificationContext, load_signing_key, sign_identity, verify_call
from ca.verifier.results import CallResult


def _values(identities: tuple[str, ...], file: str | None) -> list[str]:
    values = list(identities)
    if file is not None:
        text = sys.stdin.read() if file == "-" else _read_text(file)
        values.extend(line.strip() for line in text.splitlines() if line.strip())
    if not values:
        raise malformed("identity", "give at least one --identity VALUE or a --file")
    return values


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise malformed("file", f"cannot read {path}: {error}") from None


def _trust_source(obj: CLIContext, trust: str | None) -> Path:
    """--trust, else the dev root of an initialized home (`delegato init` writes it)."""
    if trust is not None:
        return Path(trust)
    root = Config.load(obj.home).pki_dir / "root.pem"
    if root.is_file():
        return root
    raise malformed("trust", "give --trust FILE|DIR (a PEM bundle, a directory or a trust list)")


def _text(result: CallResult) -> str:
    lines = [f"call: {'VALID' if result.valid else 'INVALID'} ({result.verstat})"]
    for index, item in enumerate(result.results, start=1):
        if item.valid:
            signer = item.signer.subject if item.signer else "?"
            lines.append(
                f"  [{index}] valid: attest {item.attest or '-'}, orig {item.orig}, signer {signer}"
            )
        else:
            lines.append(f"  [{index}] {item.status} {item.reason}: {item.detail}")
        lines.extend(f"      warning: {w}" for w in item.warnings)
    return "\n".join(lines)


@click.command("verify")
@click.option(
    "--identity", "identities", multiple=True, help="An Identity header value (repeatable)."
)
@click.option("--file", "file", help="Read Identity values from FILE, one per line ('-' = stdin).")
@click.option("--from", "orig", help="The SIP From (URI or number) to match against orig.")
@click.option("--to", "dest", help="The SIP To (URI or number) to match against dest.")
@click.option("--date", help="The SIP Date header, checked against the freshness window.")
@click.option(
    "--trust",
    envvar="DELEGATO_TRUST",
    help="Trust anchors: PEM bundle, directory or signed trust list.",
)
@click.option(
    "--trust-list-key",
    type=click.Path(dir_okay=False, exists=True),
    help="PEM key or certificate that signs the trust list.",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    help="Admit http and private addresses for HOST[:PORT] (development).",
)
@click.option("--at", "at", help="Verify as of WHEN (ISO-8601 or +<n>s|m|h|d) instead of now.")
@click.option(
    "--crl",
    "crl_policy",
    type=click.Choice(["require", "best-effort", "off"]),
    default="require",
    show_default=True,
    help="An unavailable or stale CRL fails (require), warns (best-effort) or is not checked (off).",
)
@click.option(
    "--spc-parent",
    "spc_parent",
    type=click.Choice(["strict", "registry", "lenient"]),
    default="strict",
    show_default=True,
    help="Numbers under a parent that holds only an SPC: refused (strict), looked up in this "
    "home's TN registry (registry), or accepted with a warning (lenient).",
)
@click.option(
    "--lenient-tn-auth-list",
    is_flag=True,
    help="Recover malformed TNAuthLists met in the wild, with warnings.",
)
@json_option
@pass_cli
def verify(
    obj: CLIContext,
    identities: tuple[str, ...],
    file: str | None,
    orig: str | None,
    dest: str | None,
    date: str | None,
    trust: str | None,
    trust_list_key: str | None,
    allow_hosts: tuple[str, ...],
    at: str | None,
    crl_policy: str,
    spc_parent: str,
    lenient_tn_auth_list: bool,
) -> None:
    """Verify Identity header values (RFC 8224); the call is valid if any value is.

    Exits 0 when the call is valid, 1 when it is not, 2 on bad input.
    """
    values = _values(identities, file)
    now = SystemClock().now()
    clock = FixedClock(parse_when(at, now, "at")) if at else SystemClock()
    context = VerificationContext.from_files(
        _trust_source(obj, trust),
        allow_hosts=allow_hosts,
        trust_list_key=trust_list_key,
        clock=clock,
        crl_policy=crl_policy,
        spc_parent_policy=spc_parent,
        spc_registry=obj.services().registry.spc_scope if spc_parent == "registry" else None,
        lenient_tn_auth_list=lenient_tn_auth_list,
    )
    result = verify_call(context, values, orig=orig, dest=dest, date=date)
    obj.emit(result.to_json(), _text(result))
    if not result.valid:
        sys.exit(1)


@click.command("sign")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(dir_okay=False, exists=True),
    help="The delegate certificate's private key (PEM, P-256).",
)
@click.option("--x5u", required=True, help="The URL of the signer's certificate chain.")
@click.option("--orig", required=True, help="The calling number.")
@click.option(
    "--dest", "dests", required=True, multiple=True, help="The called number (repeatable)."
)
@click.option("--attest", type=click.Choice(["A", "B", "C"]), default="A", show_default=True)
@click.option("--ppt", type=click.Choice(["shaken", "none"]), default="shaken", show_default=True)
@click.option("--origid", help="The origination identifier (a UUID; default: a fresh one).")
@click.option("--iat", type=int, help="The signing time in epoch seconds (default: now).")
@json_option
@pass_cli
def sign(
    obj: CLIContext,
    key_file: str,
    x5u: str,
    orig: str,
    dests: tuple[str, ...],
    attest: str,
    ppt: str,
    origid: str | None,
    iat: int | None,
) -> None:
    """Sign a PASSporT and print its Identity header value (RFC 8224, RFC 8588)."""
    value = sign_identity(
        load_signing_key(Path(key_file)),
        x5u,
        orig,
        list(dests),
        ppt=None if ppt == "none" else ppt,
        attest=attest,
        origid=origid,
        iat=iat,
    )
    obj.emit({"identity": value, "passport": value.split(";", 1)[0]}, value)
