"""Inspection commands that need no Delegato home: `tnauth decode` and `lint`."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click
from cryptography import x509

from ca.cli_context import CLIContext, json_option, pass_cli
from ca.errors import CAError, ErrorKind, malformed
from ca.issuance.profiles import load_profile, load_profiles
from ca.lint import run_lints
from ca.lint.files import iter_certificates
from ca.tnauth import decode_lenient, decode_strict, tn_auth_list_der, tn_auth_list_from_certificate

_HEX = re.compile(r"^[0-9a-fA-F:\s]+$")


@click.group()
def tnauth() -> None:
    """TNAuthList tools (RFC 8226)."""


@tnauth.command("decode")
@click.argument("source")
@click.option(
    "--lenient",
    is_flag=True,
    help="Recover what malformed encodings met in the wild allow, with warnings.",
)
@json_option
@pass_cli
def tnauth_decode(obj: CLIContext, source: str, lenient: bool) -> None:
    """Print the TNAuthList of a certificate (PEM/DER) or of raw DER given as a file or hex."""
    der = _tn_auth_list_bytes(source)
    warnings: list[str] = []
    if lenient:
        result = decode_lenient(der)
        warnings = list(result.warnings)
        if result.tn_auth_list is None:
            raise CAError(
                ErrorKind.MALFORMED,
                "nothing could be recovered: " + "; ".join(warnings),
                field="TNAuthList",
            )
        entries = result.tn_auth_list.to_json()
    else:
        entries = decode_strict(der).to_json()
    lines = [_entry_text(entry) for entry in entries] + [f"warning: {w}" for w in warnings]
    obj.emit({"entries": entries, "warnings": warnings}, "\n".join(lines))


def _entry_text(entry: dict[str, Any]) -> str:
    if "spc" in entry:
        return f"spc   {entry['spc']}"
    if "one" in entry:
        return f"one   {entry['one']}"
    rng = entry["range"]
    return f"range {rng['start']} count {rng['count']}"


def _tn_auth_list_bytes(source: str) -> bytes:
    """A certificate file yields its extension's value; other files and hex are raw TNAuthList DER."""
    path = Path(source)
    if path.is_file():
        data = path.read_bytes()
        certificate = _as_certificate(data)
        if certificate is not None:
            der = tn_auth_list_der(certificate)
            if der is None:
                raise malformed("certificate", f"{source} has no TNAuthList extension")
            return der
        text = data.decode("ascii", "replace").strip()
        return bytes.fromhex(re.sub(r"[:\s]", "", text)) if text and _HEX.match(text) else data
    if _HEX.match(source):
        cleaned = re.sub(r"[:\s]", "", source)
        if len(cleaned) % 2 == 0:
            return bytes.fromhex(cleaned)
    raise malformed(
        "source", f"{source!r} is neither a readable file nor an even number of hex digits"
    )


def _as_certificate(data: bytes) -> x509.Certificate | None:
    try:
        if b"-----BEGIN CERTIFICATE" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        return None


def choose_profile(certificate: x509.Certificate) -> str:
    """Pick the profile a certificate claims to follow: root, SCA, delegate or SHAKEN SP."""
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = constraints.ca
    except (x509.ExtensionNotFound, ValueError):
        is_ca = False
    if is_ca:
        return "test_root" if certificate.issuer == certificate.subject else "sca"
    try:
        scope = tn_auth_list_from_certificate(certificate, lenient=True)
    except CAError:
        scope = None
    return "delegate_ee" if scope is not None and scope.has_numbers else "shaken_sp"


@click.command("lint")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--profile",
    "profile_name",
    default="auto",
    show_default=True,
    help="delegate_ee, sca, test_root, crl_signer, shaken_sp, or auto (by certificate kind).",
)
@click.option(
    "--issuer",
    "issuer_file",
    type=click.Path(dir_okay=False, exists=True),
    help="Issuer certificate, for AKI and RFC 9060 encompassment checks.",
)
@click.option("--show-passing", is_flag=True, help="List passing lints too.")
@json_option
@pass_cli
def lint_command(
    obj: CLIContext,
    paths: tuple[str, ...],
    profile_name: str,
    issuer_file: str | None,
    show_passing: bool,
) -> None:
    """Lint certificates (PEM, DER, many files or directories) against a profile."""
    profiles = load_profiles()
    if profile_name != "auto" and profile_name not in profiles:
        raise malformed(
            "profile",
            f"{profile_name!r} is not a profile; choose from {', '.join(sorted(profiles))}, auto",
        )
    issuer = _as_certificate(Path(issuer_file).read_bytes()) if issuer_file else None
    files: list[dict[str, Any]] = []
    failed = 0
    for name, item in iter_certificates(paths):
        if isinstance(item, CAError):
            files.append({"name": name, "ok": False, "error": str(item)})
            failed += 1
            continue
        chosen = profile_name if profile_name != "auto" else choose_profile(item)
        report = run_lints(item, load_profile(chosen), issuer=issuer)
        failed += not report.ok
        files.append({"name": name, "profile": chosen, "ok": report.ok, **report.to_json()})
    obj.emit(
        {"files": files, "checked": len(files), "failed": failed}, _lint_text(files, show_passing)
    )
    if failed:
        sys.exit(1)


def _lint_text(files: list[dict[str, Any]], show_passing: bool) -> str:
    lines: list[str] = []
    for item in files:
        if "error" in item:
            lines.append(f"{item['name']}: UNREADABLE: {item['error']}")
            continue
        lines.append(f"{item['name']}: {'ok' if item['ok'] else 'FAILED'} ({item['profile']})")
        for result in item.get("results", []):
            if show_passing or result["status"] not in ("pass", "na"):
                lines.append(
                    f"  {result['status']:<6} {result['lint']}: {result.get('detail') or ''}".rstrip()
                )
    lines.append(f"{len(files)} checked, {sum(not f['ok'] for f in files)} failed")
    return "\n".join(lines)
