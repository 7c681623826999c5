"""Delegate certificates over HTTP (flow 3): issue for authorized numbers, list, read, revoke."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from api.auth import acting_for, actor, principal, requires, services
from api.body import duration, json_body, scope_of
from ca.errors import CAError, ErrorKind, malformed
from ca.ra import CertificateRequest
from ca.revocation import RevocationReason

certificates = Blueprint("certificates", __name__, url_prefix="/v1/certificates")
HOLDERS = ("enterprise", "bpo", "operator")


def owner_filter() -> str | None:
    """Whose objects a listing shows: the caller's own; an operator's choice (or everyone's)."""
    caller = principal()
    requested = request.args.get("organization") or None
    if caller.is_operator:
        return requested
    return acting_for(requested, "organization")


@certificates.post("")
@requires(*HOLDERS)
def issue() -> Any:
    data = json_body("CertificateRequest")
    reason = data.get("operator_reason")
    if reason is not None and not principal().is_operator:
        raise CAError(
            ErrorKind.FORBIDDEN, "only an operator may override the registry", field="operator_reason"
        )
    holder = acting_for(data.get("organization"), "organization")
    issued = services().ra.request_certificate(
        CertificateRequest(
            organization_id=holder,
            csr=data["csr"].encode("utf-8"),
            tn_auth_list=scope_of(data, required=False),
            actor=actor(),
            lifetime=duration(data, "lifetime"),
            operator_reason=reason,
            holder=principal().organization,
        )
    )
    inventory = services().inventory
    return inventory.issued(issued, holder).to_json(services().clock.now()), 201


@certificates.get("")
@requires(*HOLDERS)
def list_certificates() -> Any:
    limit_text = request.args.get("limit", "100")
    if not limit_text.isdigit() or not limit_text.isascii() or not 1 <= int(limit_text) <= 500:
        raise malformed("limit", "a whole number 1..500")
    inventory = services().inventory
    page, cursor = inventory.list(
        owner_filter(), limit=int(limit_text), before=request.args.get("before") or None
    )
    now = services().clock.now()
    return {"certificates": [view.to_json(now) for view in page], "next": cursor}


@certificates.get("/<serial>")
@requires(*HOLDERS)
def get_certificate(serial: str) -> Any:
    inventory = services().inventory
    view = inventory.get(serial, organization_id=_own_organization())
    return view.to_json(services().clock.now())


@certificates.post("/<serial>/revoke")
@requires(*HOLDERS)
def revoke(serial: str) -> Any:
    data = json_body("RevokeRequest")
    caller = principal()
    revocation = services().ra.revoke(
        serial,
        RevocationReason.parse(data["reason"]),
        actor=actor(),
        operator=caller.is_operator,
        organization_id=caller.organization.id,
        comment=data.get("comment"),
    )
    return {
        "serial": revocation.serial,
        "reason": revocation.reason,
        "revoked_at": revocation.revoked_at.isoformat(),
        "issuer": revocation.issuer_id,
    }


def _own_organization() -> str | None:
    caller = principal()
    return None if caller.is_operator else caller.organization.id
