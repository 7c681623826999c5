"""The checks of a post of grants before anything is written: the parties, each request's period
and evidence, and that a delegation stays within what the enterprise holds (ATIS-1000089 use
case 8). Each names the first request, in order, that breaks a rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from ca.errors import CAError, ErrorKind, malformed
from ca.registry.authorize import authorize
from ca.registry.posts import GrantRequest, PostResult
from ca.storage import Session, repo
from ca.storage import registry as store
from ca.storage.records import Grant, Organization
from ca.storage.registry_queries import organizations
from ca.tnauth import TNAuthList

_EVIDENCE_MAX = 500

_PARTIES = {
    "assignment": (("authority", "tn_authority"), ("enterprise", "enterprise")),
    "delegation": (("enterprise", "enterprise"), ("bpo", "bpo")),
}


def check_parties(
    session: Session,
    kind: str,
    requests: Sequence[GrantRequest],
    acting: Organization | None,
) -> None:
    """Each party exists and is of the right kind; the acting organization may post. The
    first request (in order) that breaks a rule is named."""
    pairs = dict.fromkeys((r.grantor_id, r.holder_id) for r in requests)
    orgs = organizations(session, {org_id for pair in pairs for org_id in pair})
    for grantor_id, holder_id in pairs:
        problem = _party_problem(kind, grantor_id, holder_id, orgs, acting)
        if problem is not None:
            first = next(
                r for r in requests if (r.grantor_id, r.holder_id) == (grantor_id, holder_id)
            )
            error_kind, detail, field = problem
            raise CAError(error_kind, f"{first.label}{detail}", field=field)


def _party_problem(
    kind: str,
    grantor_id: str,
    holder_id: str,
    orgs: dict[str, Organization],
    acting: Organization | None,
) -> tuple[ErrorKind, str, str] | None:
    """What is wrong with these parties: (kind, detail after the request's label, field)."""
    (grantor_field, grantor_kind), (holder_field, holder_kind) = _PARTIES[kind]
    for org_id, name, wanted in (
        (grantor_id, grantor_field, grantor_kind),
        (holder_id, holder_field, holder_kind),
    ):
        org = orgs.get(org_id)
        if org is None:
            return ErrorKind.NOT_FOUND, f"no organization {org_id!r}", name
        if org.kind != wanted:
            return ErrorKind.MALFORMED, f"{org_id} is a {org.kind}, not a {wanted}", name
    if acting is not None and acting.kind != "operator" and acting.id != grantor_id:
        return (
            ErrorKind.FORBIDDEN,
            f"only {grantor_id} (or an operator) may post this {kind}",
            grantor_field,
        )
    return None


def check_periods(requests: Sequence[GrantRequest], now: dt.datetime) -> None:
    """Each request's period lies ahead and its evidence is short printable text; the first
    request (in order) that breaks a rule is named."""
    for request in requests:
        start = request.valid_from or now
        evidence = request.evidence
        if request.expires_at <= now:
            raise malformed(
                "expires_at",
                f"{request.label}{request.expires_at.isoformat()} is not in the future",
            )
        if request.expires_at <= start:
            raise malformed(
                "expires_at", f"{request.label}must be after valid_from ({start.isoformat()})"
            )
        if len(evidence) > _EVIDENCE_MAX or not evidence.isprintable():
            raise malformed(
                "evidence",
                f"{request.label}must be at most {_EVIDENCE_MAX} printable characters",
            )


def check_delegations(
    session: Session,
    requests: Sequence[GrantRequest],
    result: PostResult,
    changed: dict[int, Grant],
    now: dt.datetime,
) -> None:
    """Each new or changed delegation lies within what the enterprise holds when it begins and
    overlaps no other delegation of the same numbers from the same enterprise to the same BPO."""
    for index in [*result.created(), *changed]:
        request = requests[index]
        enterprise = repo.get_organization(session, request.grantor_id)
        assert enterprise is not None
        scope = TNAuthList.from_intervals(request.intervals)
        at = max(result.grants[index].valid_from, now)
        # RFC 9060's rule for certificates, applied to rights: a delegation is encompassed
        # by what the enterprise holds when it begins.
        try:
            authorize(session, enterprise, scope, at)
        except CAError as error:
            raise CAError(
                ErrorKind.TN_NOT_AUTHORIZED,
                f"{request.label}{enterprise.id} can delegate only numbers it holds; "
                + error.detail.split(" for: ", 1)[-1],
                field="tns",
                subproblems=error.subproblems,
            ) from None
        old = changed.get(index)
        overlapping = [
            span
            for span in store.spans_during(
                session,
                "delegation",
                request.intervals,
                at,
                request.expires_at,
                holder_ids=[request.holder_id],
            )
            if span.enterprise_id == request.grantor_id
            and span.grant_id != (old.id if old else None)
        ]
        if overlapping:
            span = overlapping[0]
            raise CAError(
                ErrorKind.CONFLICT,
                f"{request.label}{request.holder_id} already holds some of these numbers from "
                f"{request.grantor_id} under delegation {span.grant_id}; end or change it first",
                field="tns",
            )
