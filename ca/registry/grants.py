"""Posting rights: assignments (TN authority -> enterprise) and delegations (enterprise -> BPO).

ATIS-1000089 §5 "central TN database" (CTND POST) and use case 8. A post is validated whole and
written whole: one transaction, registry writers serialized, nothing of a refused post is kept.
Re-posting the same numbers for the same parties changes the existing grant (a new expiry or
evidence) instead of making a second one, so a re-imported file changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ca.audit import AuditLog
from ca.clock import Clock
from ca.errors import CAError, ErrorKind, malformed
from ca.organizations import new_id, sortable_id
from ca.registry.authorize import authorize
from ca.registry.conflicts import Candidate, conflict_error, find_conflicts
from ca.registry.numbers import Triple, scope_key, spans_of
from ca.storage import Session, repo
from ca.storage import registry as store
from ca.storage.engine import Storage
from ca.storage.records import Grant, Organization, Span
from ca.tnauth import TNAuthList

#: Past this many grants in one post, the audit trail gets one summary event for the post
#: (with a digest of every grant written) instead of one event per grant.
_AUDIT_EACH_UP_TO = 100
_EVIDENCE_MAX = 500


@dataclass(frozen=True)
class GrantRequest:
    """One assignment (grantor = TN authority, holder = enterprise) or delegation (grantor =
    enterprise, holder = BPO) to post."""

    grantor_id: str
    holder_id: str
    intervals: tuple[Triple, ...]
    expires_at: dt.datetime
    valid_from: dt.datetime | None = None
    evidence: str = ""
    label: str = ""  # where it came from, for errors: "line 12: "


@dataclass
class PostResult:
    """What a post did, in request order: each request's grant and whether it was new."""

    grants: list[Grant] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)  # created | changed | unchanged

    def count(self, outcome: str) -> int:
        return self.outcomes.count(outcome)


_PARTIES = {
    "assignment": (("authority", "tn_authority"), ("enterprise", "enterprise")),
    "delegation": (("enterprise", "enterprise"), ("bpo", "bpo")),
}


class Grants:
    """Writes assignments and delegations; reads come from the storage functions directly."""

    def __init__(self, storage: Storage, clock: Clock, audit: AuditLog) -> None:
        self._storage = storage
        self._clock = clock
        self._audit = audit

    def post(
        self,
        kind: str,
        requests: Sequence[GrantRequest],
        *,
        actor: str,
        acting: Organization | None = None,
        source: str | None = None,
    ) -> PostResult:
        """Validate and write a batch of grants of one kind, all or nothing."""
        now = self._clock.now()
        with self._storage.transaction() as session:
            store.lock_registry(session)
            self._check_parties(session, kind, requests, acting)
            for request in requests:
                _check_period(request, now)
            result, fresh, changed = self._match_existing(session, kind, requests, now, actor)
            if kind == "assignment":
                self._check_conflicts(session, requests, result, fresh, changed, now)
            else:
                self._check_delegations(session, requests, result, fresh, changed, now)
            self._write(session, kind, requests, result, fresh, changed, now)
            self._record(session, kind, requests, result, actor, source)
        return result

    # -- validation -------------------------------------------------------------------------

    def _check_parties(
        self,
        session: Session,
        kind: str,
        requests: Sequence[GrantRequest],
        acting: Organization | None,
    ) -> None:
        (grantor_field, grantor_kind), (holder_field, holder_kind) = _PARTIES[kind]
        ids = {r.grantor_id for r in requests} | {r.holder_id for r in requests}
        orgs = {org_id: repo.get_organization(session, org_id) for org_id in sorted(ids)}
        for request in requests:
            for org_id, name, wanted in (
                (request.grantor_id, grantor_field, grantor_kind),
                (request.holder_id, holder_field, holder_kind),
            ):
                org = orgs[org_id]
                if org is None:
                    raise CAError(
                        ErrorKind.NOT_FOUND,
                        f"{request.label}no organization {org_id!r}",
                        field=name,
                    )
                if org.kind != wanted:
                    raise malformed(
                        name, f"{request.label}{org_id} is a {org.kind}, not a {wanted}"
                    )
            if acting is not None and acting.kind != "operator" and acting.id != request.grantor_id:
                raise CAError(
                    ErrorKind.FORBIDDEN,
                    f"{request.label}only {request.grantor_id} (or an operator) may post this "
                    f"{kind}",
                    field=grantor_field,
                )

    def _match_existing(
        self,
        session: Session,
        kind: str,
        requests: Sequence[GrantRequest],
        now: dt.datetime,
        actor: str,
    ) -> tuple[PostResult, list[int], dict[int, Grant]]:
        keys = [scope_key(r.grantor_id, r.holder_id, r.intervals) for r in requests]
        existing = {
            grant.scope_key: grant
            for grant in store.grants_by_scope_key(session, kind, keys)
            if grant.expires_at > now
        }
        result = PostResult()
        fresh: list[int] = []
        changed: dict[int, Grant] = {}
        seen: dict[str, int] = {}
        for index, (request, key) in enumerate(zip(requests, keys, strict=True)):
            if key in seen:
                raise CAError(
                    ErrorKind.CONFLICT,
                    f"{request.label}the same numbers for the same parties are posted twice "
                    f"(also {requests[seen[key]].label or f'request {seen[key]}'})".replace(
                        ": )", ")"
                    ),
                    field="tns",
                )
            seen[key] = index
            grant = existing.get(key)
            if grant is None:
                fresh.append(index)
                result.grants.append(_new_grant(kind, request, key, now, actor))
                result.outcomes.append("created")
            else:
                updated = _changed_grant(grant, request, now)
                if updated == grant:
                    result.grants.append(grant)
                    result.outcomes.append("unchanged")
                else:
                    changed[index] = grant
                    result.grants.append(updated)
                    result.outcomes.append("changed")
        return result, fresh, changed

    def _check_conflicts(
        self,
        session: Session,
        requests: Sequence[GrantRequest],
        result: PostResult,
        fresh: list[int],
        changed: dict[int, Grant],
        now: dt.datetime,
    ) -> None:
        candidates = []
        for index in [*fresh, *changed]:
            request = requests[index]
            old = changed.get(index)
            start = max(result.grants[index].valid_from, now)
            for length, lo, hi, shared in spans_of(request.intervals):
                candidates.append(
                    Candidate(
                        index,
                        request.holder_id,
                        length,
                        lo,
                        hi,
                        shared,
                        start,
                        request.expires_at,
                        replaces=old.id if old else None,
                    )
                )
        conflicts = find_conflicts(session, candidates)
        if conflicts:
            raise conflict_error(conflicts, {i: r.label for i, r in enumerate(requests)})

    def _check_delegations(
        self,
        session: Session,
        requests: Sequence[GrantRequest],
        result: PostResult,
        fresh: list[int],
        changed: dict[int, Grant],
        now: dt.datetime,
    ) -> None:
        for index in [*fresh, *changed]:
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

    # -- writing ----------------------------------------------------------------------------

    def _write(
        self,
        session: Session,
        kind: str,
        requests: Sequence[GrantRequest],
        result: PostResult,
        fresh: list[int],
        changed: dict[int, Grant],
        now: dt.datetime,
    ) -> None:
        grants = [result.grants[i] for i in fresh]
        spans: list[Span] = []
        for index in fresh:
            grant, request = result.grants[index], requests[index]
            start = max(grant.valid_from, now)
            spans.extend(
                Span(
                    grant.id,
                    grant.holder_id,
                    _enterprise(grant),
                    n,
                    lo,
                    hi,
                    start,
                    grant.expires_at,
                    shared,
                )
                for n, lo, hi, shared in spans_of(request.intervals)
            )
        store.add_grants(session, grants)
        store.add_spans(session, kind, spans)
        for index, old in changed.items():
            store.change_grant(session, kind, old, result.grants[index])

    def _record(
        self,
        session: Session,
        kind: str,
        requests: Sequence[GrantRequest],
        result: PostResult,
        actor: str,
        source: str | None,
    ) -> None:
        touched = [i for i, outcome in enumerate(result.outcomes) if outcome != "unchanged"]
        if len(touched) <= _AUDIT_EACH_UP_TO:
            for index in touched:
                grant = result.grants[index]
                self._audit.record(
                    session,
                    actor=actor,
                    action=f"{kind}.{result.outcomes[index]}",
                    object_type=kind,
                    object_id=grant.id,
                    details=grant_details(grant, requests[index].intervals),
                )
            return
        # The digest pins every grant the post wrote, one line each, in request order.
        digest = hashlib.sha256()
        for index in touched:
            g = result.grants[index]
            numbers = ",".join(f"{n}:{lo}-{hi}" for n, lo, hi in requests[index].intervals)
            digest.update(
                f"{g.id}|{g.grantor_id}|{g.holder_id}|{numbers}|{g.valid_from.isoformat()}|"
                f"{g.expires_at.isoformat()}|{g.evidence}\n".encode()
            )
        self._audit.record(
            session,
            actor=actor,
            action=f"{kind}.imported",
            object_type="import",
            object_id=source or new_id("import"),
            details={
                "rows": len(requests),
                "created": result.count("created"),
                "changed": result.count("changed"),
                "unchanged": result.count("unchanged"),
                "first": result.grants[touched[0]].id,
                "last": result.grants[touched[-1]].id,
                "digest": digest.hexdigest(),
            },
        )


def _changed_grant(grant: Grant, request: GrantRequest, now: dt.datetime) -> Grant:
    """The grant as the re-post restates it: a new expiry or evidence, or a new start for a
    grant not yet in force. A right already in force keeps its start (history is not rewritten)."""
    valid_from = grant.valid_from
    if request.valid_from is not None and request.valid_from != grant.valid_from:
        if grant.valid_from <= now:
            raise CAError(
                ErrorKind.CONFLICT,
                f"{request.label}{grant.id} is in force since {grant.valid_from.isoformat()}; "
                "its start cannot move (release it and post anew)",
                field="valid_from",
            )
        valid_from = max(request.valid_from, now)
    if request.expires_at <= valid_from:
        raise malformed(
            "expires_at", f"{request.label}must be after valid_from ({valid_from.isoformat()})"
        )
    return dataclasses.replace(
        grant, valid_from=valid_from, expires_at=request.expires_at, evidence=request.evidence
    )


def grant_details(grant: Grant, intervals: Sequence[Triple]) -> dict[str, Any]:
    """What the audit trail keeps of a grant: parties, numbers, period, evidence."""
    parties = (
        {"authority": grant.grantor_id, "enterprise": grant.holder_id}
        if grant.kind == "assignment"
        else {"enterprise": grant.grantor_id, "bpo": grant.holder_id}
    )
    return {
        **parties,
        "numbers": TNAuthList.from_intervals(intervals).to_json(),
        "valid_from": grant.valid_from.isoformat(),
        "expires_at": grant.expires_at.isoformat(),
        "evidence": grant.evidence,
        **({"transferred_from": grant.transferred_from} if grant.transferred_from else {}),
    }


def _enterprise(grant: Grant) -> str:
    return grant.holder_id if grant.kind == "assignment" else grant.grantor_id


def _new_grant(kind: str, request: GrantRequest, key: str, now: dt.datetime, actor: str) -> Grant:
    return Grant(
        id=sortable_id("asg" if kind == "assignment" else "dlg"),
        kind=kind,
        grantor_id=request.grantor_id,
        holder_id=request.holder_id,
        scope_key=key,
        valid_from=request.valid_from or now,
        expires_at=request.expires_at,
        evidence=request.evidence,
        created_at=now,
        created_by=actor,
    )


def _check_period(request: GrantRequest, now: dt.datetime) -> None:
    start = request.valid_from or now
    if request.expires_at <= now:
        raise malformed(
            "expires_at", f"{request.label}{request.expires_at.isoformat()} is not in the future"
        )
    if request.expires_at <= start:
        raise malformed(
            "expires_at", f"{request.label}must be after valid_from ({start.isoformat()})"
        )
    if len(request.evidence) > _EVIDENCE_MAX or not request.evidence.isprintable():
        raise malformed(
            "evidence", f"{request.label}must be at most {_EVIDENCE_MAX} printable characters"
        )


ChangeHook = Callable[[Sequence[str]], object]
