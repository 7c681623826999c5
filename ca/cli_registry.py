"""The TN registry on the command line: keys, assign, delegate, transfer, release, status, jobs,
audit trace. Each command is a few lines: parse, call one service, print."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ca.cli_context import CLIContext, actor, json_option, pass_cli
from ca.durations import parse_when
from ca.errors import CAError, ErrorKind
from ca.registry.csvimport import parse_csv
from ca.registry.service import GrantView
from ca.tnauth import TNAuthList

_scope_options = [
    click.option(
        "--tn", "tns", multiple=True, metavar="N", help="A telephone number (repeatable)."
    ),
    click.option(
        "--range", "ranges", multiple=True, metavar="START:COUNT", help="A block (repeatable)."
    ),
]


def scope_options(func: Any) -> Any:
    for option in reversed(_scope_options):
        func = option(func)
    return func


def _scope(tns: tuple[str, ...], ranges: tuple[str, ...]) -> TNAuthList | None:
    return TNAuthList.from_user(tns=tns, ranges=ranges) if tns or ranges else None


def _required_scope(tns: tuple[str, ...], ranges: tuple[str, ...]) -> TNAuthList:
    scope = _scope(tns, ranges)
    if scope is None:
        raise CAError(ErrorKind.MALFORMED, "give --tn or --range (repeatable)", field="tns")
    return scope


def _view_text(view: GrantView) -> str:
    numbers = ", ".join(view.numbers.describe()) if view.spans else "no numbers in force"
    until = view.grant.expires_at.isoformat()
    return f"{view.grant.id} ({view.outcome}): {numbers} until {until}"


# --- API keys ------------------------------------------------------------------------------


@click.group("key")
def key() -> None:
    """API keys: shown once, stored only as a hash."""


@key.command("create")
@click.option("--org", "org_id", required=True)
@click.option("--role", required=True, help="The organization's kind, or verifier.")
@json_option
@pass_cli
def key_create(obj: CLIContext, org_id: str, role: str) -> None:
    """Create an API key and print it once."""
    new = obj.services().api_keys.create(org_id, role, actor=actor())
    obj.emit(
        {"id": new.key.id, "key": new.secret, "organization": org_id, "role": role},
        f"{new.secret}\n(key {new.key.id}; shown once, keep it safe)",
    )


@key.command("revoke")
@click.argument("key_id")
@json_option
@pass_cli
def key_revoke(obj: CLIContext, key_id: str) -> None:
    """Revoke an API key at once."""
    obj.services().api_keys.revoke(key_id, actor=actor())
    obj.emit({"id": key_id, "revoked": True}, f"revoked {key_id}")


# --- assignments and delegations -----------------------------------------------------------


@click.command("assign")
@click.option("--authority", help="The TN authority (TNSP or RespOrg) organization.")
@click.option("--enterprise", help="The enterprise that may use the numbers.")
@scope_options
@click.option("--expires", help="WHEN the right ends: ISO-8601 or +<n>s|m|h|d.")
@click.option("--valid-from", help="WHEN the right begins (default now).")
@click.option("--evidence", default="", help="LOA or order reference.")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False), help="Import rows from a file.")
@json_option
@pass_cli
def assign(
    obj: CLIContext,
    authority: str | None,
    enterprise: str | None,
    tns: tuple[str, ...],
    ranges: tuple[str, ...],
    expires: str | None,
    valid_from: str | None,
    evidence: str,
    csv_file: str | None,
) -> None:
    """Record that a TN authority lets an enterprise use numbers until a moment (CTND POST)."""
    services = obj.services()
    now = services.clock.now()
    if csv_file:
        if tns or ranges or expires or valid_from or evidence:
            raise CAError(
                ErrorKind.MALFORMED,
                "with --csv FILE the numbers, expiry and evidence come from the file; "
                "only --authority and --enterprise may be given as defaults",
                field="assign",
            )
        _import(obj, csv_file, authority, enterprise)
        return
    if not authority or not enterprise or not expires:
        raise CAError(
            ErrorKind.MALFORMED,
            "give --authority, --enterprise, --expires and numbers, or --csv FILE",
            field="assign",
        )
    view = services.registry.assign(
        authority,
        enterprise,
        _required_scope(tns, ranges),
        parse_when(expires, now, "expires"),
        actor=actor(),
        valid_from=parse_when(valid_from, now, "valid_from") if valid_from else None,
        evidence=evidence,
    )
    obj.emit(view.to_json(), _view_text(view))


def _import(obj: CLIContext, csv_file: str, authority: str | None, enterprise: str | None) -> None:
    services = obj.services()
    try:
        data = Path(csv_file).read_bytes()
    except OSError as exc:
        raise CAError(
            ErrorKind.MALFORMED, f"cannot read {csv_file}: {exc.strerror}", field="csv"
        ) from None
    now = services.clock.now()
    # The bar goes to a terminal's stderr only: stdout carries the result (one JSON line).
    show = sys.stderr.isatty() and not obj.as_json
    if show:
        lines = max(data.count(b"\n"), 1)
        with click.progressbar(length=lines, label="checking rows", file=sys.stderr) as bar:
            parsed = parse_csv(
                data, now, authority=authority, enterprise=enterprise, progress=bar.update
            )
            bar.update(lines - bar.pos)
    else:
        parsed = parse_csv(data, now, authority=authority, enterprise=enterprise)
    if show:
        click.echo(f"writing {len(parsed.requests):,} assignments ...", err=True)
    result = services.registry.post_many(
        "assignment", parsed.requests, actor=actor(), source=f"csv:{parsed.sha256}"
    )
    summary = {
        "rows": len(parsed.requests),
        "created": result.count("created"),
        "changed": result.count("changed"),
        "unchanged": result.count("unchanged"),
        "sha256": parsed.sha256,
    }
    obj.emit(summary, ", ".join(f"{k}: {v}" for k, v in summary.items()))


@click.command("delegate")
@click.option("--enterprise", required=True)
@click.option("--bpo", required=True, help="The contact centre (BPO) organization.")
@scope_options
@click.option("--expires", required=True, help="WHEN the campaign ends: ISO-8601 or +<n>s|m|h|d.")
@click.option("--valid-from", help="WHEN the delegation begins (default now).")
@click.option("--evidence", default="", help="Contract or campaign reference.")
@json_option
@pass_cli
def delegate(
    obj: CLIContext,
    enterprise: str,
    bpo: str,
    tns: tuple[str, ...],
    ranges: tuple[str, ...],
    expires: str,
    valid_from: str | None,
    evidence: str,
) -> None:
    """Let a BPO use a subset of the enterprise's numbers until the campaign ends (use case 8)."""
    services = obj.services()
    now = services.clock.now()
    view = services.registry.delegate(
        enterprise,
        bpo,
        _required_scope(tns, ranges),
        parse_when(expires, now, "expires"),
        actor=actor(),
        valid_from=parse_when(valid_from, now, "valid_from") if valid_from else None,
        evidence=evidence,
    )
    obj.emit(view.to_json(), _view_text(view))


@click.command("transfer")
@click.argument("assignment_id")
@click.option("--to-authority", required=True, help="The TN authority the numbers move to.")
@click.option("--to-enterprise", help="A different enterprise (ends the old holder's right).")
@scope_options
@click.option("--evidence", help="Port order or LOA reference.")
@json_option
@pass_cli
def transfer(
    obj: CLIContext,
    assignment_id: str,
    to_authority: str,
    to_enterprise: str | None,
    tns: tuple[str, ...],
    ranges: tuple[str, ...],
    evidence: str | None,
) -> None:
    """Port numbers between TN authorities; for the same enterprise nothing lapses (use case 9)."""
    moved = obj.services().registry.transfer(
        assignment_id,
        to_authority,
        actor=actor(),
        part=_scope(tns, ranges),
        to_enterprise_id=to_enterprise,
        evidence=evidence,
    )
    data = {
        "id": moved.new.id,
        "from": moved.old.id,
        "whole": moved.whole,
        **moved.numbers.to_scope_json(),
        "authority": moved.new.grantor_id,
        "enterprise": moved.new.holder_id,
        "expires_at": moved.new.expires_at.isoformat(),
    }
    obj.emit(data, f"{moved.old.id} -> {moved.new.id} ({'whole' if moved.whole else 'part'})")


@click.command("release")
@click.argument("grant_id")
@click.option("--reason", required=True, help="released|ported_away|fraud|... (campaign_ended|...)")
@scope_options
@json_option
@pass_cli
def release(
    obj: CLIContext, grant_id: str, reason: str, tns: tuple[str, ...], ranges: tuple[str, ...]
) -> None:
    """End an assignment or delegation (or part of it) now; dependent certificates are revoked."""
    view = obj.services().registry.release(
        grant_id, reason, actor=actor(), part=_scope(tns, ranges)
    )
    obj.emit(view.to_json(), _view_text(view))


@click.command("status")
@click.option("--tn", required=True)
@click.option("--enterprise", help="Ask whether this enterprise holds the number.")
@json_option
@pass_cli
def status(obj: CLIContext, tn: str, enterprise: str | None) -> None:
    """The signed TN status (CTND GET): holders, expiry, authority, delegations."""
    signed = obj.services().registry.status(tn, enterprise)
    text = [f"{signed.status['tn']}: {'assigned' if signed.status['assigned'] else 'not assigned'}"]
    for holder in signed.status["holders"]:
        authority = holder["authority"]
        text.append(
            f"  {holder['enterprise']['id']} ({holder['enterprise']['name']}) until "
            f"{holder['expires_at']} on the word of {authority['id']}"
            + (f" (SPID {authority['spid']})" if authority.get("spid") else "")
        )
        for d in holder["delegations"]:
            text.append(f"    delegated to {d['bpo']['id']} until {d['expires_at']}")
    text.append(f"jws: {signed.jws}")
    obj.emit(signed.to_json(), "\n".join(text))


@click.command("jobs")
@click.option("--once", is_flag=True, help="Run every job once and exit.")
@json_option
@pass_cli
def jobs(obj: CLIContext, once: bool) -> None:
    """Scheduled work: reconcile the registry with issued certificates, refresh CRLs."""
    from ca.jobs import run_all_once, run_forever

    services = obj.services()
    if not once:
        run_forever(services)
        return
    results = run_all_once(services)
    obj.emit(results, "\n".join(f"{name}: {value}" for name, value in results.items()))


@click.command("trace")
@click.option("--tn", required=True)
@click.option("--at", "at", required=True, help="WHEN: ISO-8601 or +/-<n>s|m|h|d.")
@json_option
@pass_cli
def trace(obj: CLIContext, tn: str, at: str) -> None:
    """Traceback: who was authorized to present this number at that moment, on whose word."""
    services = obj.services()
    now = services.clock.now()
    moment = parse_when(at, now, "at")
    answer = services.registry.trace(tn, moment)
    lines = [
        f"{answer['tn']} at {answer['at']}: {'authorized' if answer['authorized'] else 'nobody authorized'}"
    ]
    for holder in answer["holders"]:
        a = holder["assignment"]
        lines.append(
            f"  {holder['enterprise']['id']} ({holder['enterprise'].get('name')}) via {a['id']} "
            f"on the word of {a['granted_by']['id']} (evidence: {a['evidence'] or '-'})"
        )
        for d in holder["delegations"]:
            lines.append(f"    delegated to {d['bpo']['id']} via {d['delegation']['id']}")
    for cert in answer["certificates"]:
        lines.append(
            f"  certificate {cert['serial']} ({cert['status_at']}) held by {cert['holder']['id'] if cert['holder'] else '-'}"
        )
    obj.emit(answer, "\n".join(lines))
