"""The TN registry over HTTP: onboarding (operators), assignments and transfers (TN authorities),
delegations (enterprises), signed TN status (CTND GET). Each handler parses, calls one service,
renders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, request

from api.auth import acting_for, actor, principal, requires, services
from api.body import json_body, moment, scope_of
from ca.errors import CAError, ErrorKind, malformed
from ca.registry.service import GrantView
from ca.storage.records import Organization

registry = Blueprint("registry", __name__, url_prefix="/v1")
TN_AUTHORITY = ("tn_authority", "operator")


def organization_json(org: Organization) -> dict[str, Any]:
    return {
        "id": org.id,
        "kind": org.kind,
        "name": org.name,
        "spid": org.spid,
        "created_at": org.created_at.isoformat(),
    }


def _posted(view: GrantView) -> tuple[dict[str, Any], int]:
    return view.to_json(), 201 if view.outcome == "created" else 200


def _visible(view: GrantView) -> GrantView:
    """Only the parties to a grant (and operators) see it; to anyone else it does not exist."""
    caller = principal()
    parties = {view.grant.grantor_id, view.grant.holder_id}
    if not caller.is_operator and caller.organization.id not in parties:
        raise CAError(ErrorKind.NOT_FOUND, f"no {view.grant.kind} {view.grant.id!r}", field="id")
    return view


def _reason(default: str | None = None) -> str:
    reason = request.args.get("reason", default)
    if not reason:
        raise malformed("reason", "say why it ends: ?reason=released|ported_away|...")
    return reason


# -- operators ------------------------------------------------------------------------------------


@registry.post("/organizations")
@requires("operator")
def create_organization() -> Any:
    data = json_body("OrganizationRequest")
    org = services().organizations.add(
        data["kind"], data["name"], data.get("spid"), actor=actor()
    )
    return organization_json(org), 201


@registry.post("/organizations/<org_id>/keys")
@requires("operator")
def create_key(org_id: str) -> Any:
    data = json_body("KeyRequest")
    new = services().api_keys.create(org_id, data["role"], actor=actor())
    return {
        "id": new.key.id,
        "key": new.secret,
        "organization": new.key.organization_id,
        "role": new.key.role,
        "created_at": new.key.created_at.isoformat(),
    }, 201


# -- assignments (TN authorities) -----------------------------------------------------------------


@registry.post("/assignments")
@requires(*TN_AUTHORITY)
def post_assignment() -> Any:
    return _post_grant("AssignmentRequest", "authority", "enterprise", services().registry.assign)


@registry.post("/assignments/transfer")
@requires(*TN_AUTHORITY)
def transfer_assignment() -> Any:
    data = json_body("TransferRequest")
    moved = services().registry.transfer(
        data["assignment"],
        data["to_authority"],
        actor=actor(),
        acting=principal().organization,
        part=scope_of(data, required=False),
        to_enterprise_id=data.get("to_enterprise"),
        evidence=data.get("evidence"),
    )
    view = services().registry.view
    return {
        "from": view(moved.old.id).to_json(),
        "to": view(moved.new.id, outcome="created").to_json(),
        **moved.numbers.to_scope_json(),
        "whole": moved.whole,
    }, 201


@registry.get("/assignments/<grant_id>")
@requires("tn_authority", "enterprise", "operator")
def get_assignment(grant_id: str) -> Any:
    return _visible(services().registry.view(_grant_id(grant_id, "asg-"))).to_json()


@registry.delete("/assignments/<grant_id>")
@requires(*TN_AUTHORITY)
def end_assignment(grant_id: str) -> Any:
    view = services().registry.release(
        _grant_id(grant_id, "asg-"), _reason(), actor=actor(), acting=principal().organization
    )
    return view.to_json()


# -- delegations (enterprises) --------------------------------------------------------------------


@registry.post("/delegations")
@requires("enterprise", "operator")
def post_delegation() -> Any:
    return _post_grant("DelegationRequest", "enterprise", "bpo", services().registry.delegate)


def _post_grant(schema: str, grantor: str, holder: str, post: Callable[..., GrantView]) -> Any:
    """An assignment (authority -> enterprise) or a delegation (enterprise -> BPO): the grantor
    is the caller's organization, or the one an operator names."""
    data = json_body(schema)
    now = services().clock.now()
    view = post(
        acting_for(data.get(grantor), grantor),
        data[holder],
        scope_of(data, required=True),
        moment(data, "expires_at", now),
        actor=actor(),
        valid_from=moment(data, "valid_from", now),
        evidence=data.get("evidence", ""),
        acting=principal().organization,
    )
    return _posted(view)


@registry.get("/delegations/<grant_id>")
@requires("enterprise", "bpo", "operator")
def get_delegation(grant_id: str) -> Any:
    return _visible(services().registry.view(_grant_id(grant_id, "dlg-"))).to_json()


@registry.delete("/delegations/<grant_id>")
@requires("enterprise", "operator")
def end_delegation(grant_id: str) -> Any:
    grant_id = _grant_id(grant_id, "dlg-")
    # A BPO is a holder, not the grantor: it may see the delegation but not end it here.
    view = services().registry.release(
        grant_id, _reason("ended"), actor=actor(), acting=principal().organization
    )
    return view.to_json()


def _grant_id(grant_id: str, prefix: str) -> str:
    """An id of the right kind, else 404: a delegation id on an assignment URL names nothing."""
    if not grant_id.startswith(prefix):
        raise CAError(ErrorKind.NOT_FOUND, f"no such object {grant_id[:64]!r}", field="id")
    return grant_id


# -- status (CTND GET) ----------------------------------------------------------------------------


@registry.get("/tn-status")
@requires("tn_authority", "operator", "verifier")
def tn_status() -> Any:
    tn = request.args.get("tn")
    if not tn:
        raise malformed("tn", "give the number: ?tn=12025550100")
    return services().registry.status(tn, request.args.get("enterprise") or None).to_json()
