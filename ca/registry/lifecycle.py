"""Ending and moving rights: release (all or part of a grant) and transfer between TN authorities.

ATIS-1000089 use case 9: a number ported from TNSP A to TNSP B for the *same* enterprise keeps its
right without a gap — the old span closes and the new one opens at the same instant, in one
transaction, so nothing is revoked. A move to a different enterprise ends the old right.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ca.audit import AuditLog
from ca.clock import Clock
from ca.errors import CAError, ErrorKind, SubProblem, malformed
from ca.organizations import sortable_id
from ca.registry.conflicts import Candidate, conflict_error, find_conflicts
from ca.registry.grants import grant_details
from ca.registry.numbers import Triple, registry_intervals, scope_key, spans_of
from ca.storage import Session, repo
from ca.storage import registry as store
from ca.storage.engine import Storage
from ca.storage.records import Grant, Organization, Span
from ca.storage.registry_bulk import add_grants, add_spans
from ca.tnauth import TNAuthList

ASSIGNMENT_END_REASONS = ("released", "ported_away", "expired", "fraud", "disconnected")
DELEGATION_END_REASONS = ("ended", "campaign_ended", "expired", "fraud", "cover_ended")

ChangeHook = Callable[[Sequence[str]], object]


@dataclass(frozen=True)
class Transfer:
    old: Grant
    new: Grant
    numbers: TNAuthList
    whole: bool


def grant_kind(grant_id: str) -> str:
    if grant_id.startswith("asg-"):
        return "assignment"
    if grant_id.startswith("dlg-"):
        return "delegation"
    raise CAError(
        ErrorKind.NOT_FOUND,
        f"{grant_id!r} is neither an assignment nor a delegation id",
        field="id",
    )


class Lifecycle:
    def __init__(
        self, storage: Storage, clock: Clock, audit: AuditLog, on_change: ChangeHook | None = None
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._audit = audit
        self.on_change = on_change

    def release(
        self,
        grant_id: str,
        reason: str,
        *,
        actor: str,
        acting: Organization | None = None,
        part: TNAuthList | None = None,
    ) -> Grant:
        """End a grant (or ``part`` of its numbers) now, with a reason; the audit names both."""
        kind = grant_kind(grant_id)
        reasons = ASSIGNMENT_END_REASONS if kind == "assignment" else DELEGATION_END_REASONS
        if reason not in reasons:
            raise malformed("reason", f"{reason!r} is not one of: {', '.join(reasons)}")
        now = self._clock.now()
        with self._storage.transaction() as session:
            store.lock_registry(session)
            grant = _open_grant(session, kind, grant_id, now)
            allowed = {grant.grantor_id} | ({grant.holder_id} if kind == "delegation" else set())
            _check_acting(acting, allowed, f"end {kind} {grant_id}")
            moving = _part_of(session, kind, grant, part, now)
            whole = close_numbers(session, kind, grant, moving, now)
            if whole:
                store.end_grant(session, kind, grant.id, now, reason)
            self._audit.record(
                session,
                actor=actor,
                action=f"{kind}.ended" if whole else f"{kind}.narrowed",
                object_type=kind,
                object_id=grant.id,
                details={
                    "reason": reason,
                    "numbers": TNAuthList.from_intervals(moving).to_json(),
                    "whole": whole,
                },
            )
            ended = store.get_grant(session, kind, grant.id)
        self._changed([grant.holder_id])
        assert ended is not None
        return ended

    def transfer(
        self,
        grant_id: str,
        to_authority_id: str,
        *,
        actor: str,
        acting: Organization | None = None,
        part: TNAuthList | None = None,
        to_enterprise_id: str | None = None,
        evidence: str | None = None,
    ) -> Transfer:
        """Move an assignment (or part) to another TN authority at one instant (use case 9)."""
        now = self._clock.now()
        with self._storage.transaction() as session:
            store.lock_registry(session)
            old = _open_grant(session, "assignment", grant_id, now)
            _check_acting(acting, {old.grantor_id, to_authority_id}, f"transfer {grant_id}")
            enterprise_id = to_enterprise_id or old.holder_id
            _check_kind(session, to_authority_id, "tn_authority", "to_authority")
            _check_kind(session, enterprise_id, "enterprise", "to_enterprise")
            if to_authority_id == old.grantor_id and enterprise_id == old.holder_id:
                raise CAError(
                    ErrorKind.CONFLICT,
                    f"{grant_id} is already posted by {to_authority_id} for {enterprise_id}",
                    field="to_authority",
                )
            moving = _part_of(session, "assignment", old, part, now)
            whole = close_numbers(session, "assignment", old, moving, now)
            same_holder = enterprise_id == old.holder_id
            new = Grant(
                id=sortable_id("asg"),
                kind="assignment",
                grantor_id=to_authority_id,
                holder_id=enterprise_id,
                scope_key=scope_key(to_authority_id, enterprise_id, moving),
                valid_from=now,
                expires_at=old.expires_at,
                evidence=(evidence or f"transfer of {old.id}")[:500],
                created_at=now,
                created_by=actor,
                transferred_from=old.id,
            )
            spans = [
                Span(new.id, enterprise_id, enterprise_id, n, lo, hi, now, new.expires_at, shared)
                for n, lo, hi, shared in spans_of(moving)
            ]
            if not same_holder:
                candidates = [
                    Candidate(0, enterprise_id, s.length, s.lo, s.hi, s.shared, now, new.expires_at)
                    for s in spans
                ]
                conflicts = find_conflicts(session, candidates)
                if conflicts:
                    raise conflict_error(conflicts, {})
            add_grants(session, [new])
            add_spans(session, "assignment", spans)
            if whole:
                store.end_grant(
                    session,
                    "assignment",
                    old.id,
                    now,
                    "transferred" if same_holder else "ported_away",
                )
            numbers = TNAuthList.from_intervals(moving)
            self._audit.record(
                session,
                actor=actor,
                action="assignment.transferred",
                object_type="assignment",
                object_id=old.id,
                details={
                    "to_authority": to_authority_id,
                    "to_enterprise": enterprise_id,
                    "new_assignment": new.id,
                    "numbers": numbers.to_json(),
                    "whole": whole,
                },
            )
            self._audit.record(
                session,
                actor=actor,
                action="assignment.created",
                object_type="assignment",
                object_id=new.id,
                details=grant_details(new, moving),
            )
        if not same_holder:
            self._changed([old.holder_id])
        return Transfer(old, new, numbers, whole)

    def _changed(self, holders: Sequence[str]) -> None:
        if self.on_change is not None:
            self.on_change(holders)


def _open_grant(session: Session, kind: str, grant_id: str, now: dt.datetime) -> Grant:
    grant = store.get_grant(session, kind, grant_id)
    if grant is None:
        raise CAError(ErrorKind.NOT_FOUND, f"no {kind} {grant_id!r}", field="id")
    if grant.ended_at is not None or grant.expires_at <= now:
        ended = grant.ended_at or grant.expires_at
        raise CAError(
            ErrorKind.CONFLICT,
            f"{kind} {grant_id} already ended at {ended.isoformat()}"
            + (f" ({grant.end_reason})" if grant.end_reason else " (expired)"),
            field="id",
        )
    return grant


def _check_acting(acting: Organization | None, allowed: set[str], what: str) -> None:
    if acting is None or acting.kind == "operator" or acting.id in allowed:
        return
    raise CAError(ErrorKind.FORBIDDEN, f"{acting.id} may not {what}", field="id")


def _check_kind(session: Session, org_id: str, kind: str, field: str) -> None:
    org = repo.get_organization(session, org_id)
    if org is None:
        raise CAError(ErrorKind.NOT_FOUND, f"no organization {org_id!r}", field=field)
    if org.kind != kind:
        raise malformed(field, f"{org_id} is a {org.kind}, not a {kind}")


def _open_spans(session: Session, kind: str, grant: Grant, now: dt.datetime) -> list[Span]:
    # A span closed before it began keeps a zero-length period: never in force, never open.
    return [
        s
        for s in store.grant_spans(session, kind, grant.id)
        if s.active_until > now and s.active_until > s.active_from
    ]


def _part_of(
    session: Session, kind: str, grant: Grant, part: TNAuthList | None, now: dt.datetime
) -> tuple[Triple, ...]:
    """The numbers to end or move: ``part`` (which must lie inside the grant) or all of it."""
    held = TNAuthList.from_intervals(
        (s.length, s.lo, s.hi) for s in _open_spans(session, kind, grant, now)
    )
    if part is None:
        return tuple(held.intervals())
    wanted = TNAuthList.from_intervals(registry_intervals(part))
    outside = wanted.difference(held)
    if outside.has_numbers:
        values = outside.describe()
        raise CAError(
            ErrorKind.CONFLICT,
            f"{grant.id} does not hold: {', '.join(values[:10])}",
            field="tns",
            subproblems=[SubProblem(f"not in {grant.id}", "tns", v) for v in values],
        )
    return tuple(wanted.intervals())


def close_numbers(
    session: Session, kind: str, grant: Grant, moving: Sequence[Triple], now: dt.datetime
) -> bool:
    """Close the grant's open spans over ``moving`` at ``now``; keep the rest. True if none left."""
    gone = TNAuthList.from_intervals(moving)
    touched: list[Span] = []
    kept: list[Span] = []
    remaining = False
    for span in _open_spans(session, kind, grant, now):
        numbers = TNAuthList.from_intervals([(span.length, span.lo, span.hi)])
        rest = numbers.difference(gone)
        if rest == numbers:
            remaining = True
            continue
        touched.append(span)
        start = max(span.active_from, now)
        for n, lo, hi in rest.intervals():
            remaining = True
            kept.append(
                Span(
                    span.grant_id,
                    span.holder_id,
                    span.enterprise_id,
                    n,
                    lo,
                    hi,
                    start,
                    span.active_until,
                    span.shared,
                )
            )
    store.close_spans(session, kind, [s.id for s in touched if s.id is not None], now)
    add_spans(session, kind, kept)
    if remaining:
        # The grant now names fewer numbers: its key says so, so a later re-post of the old
        # numbers is a new claim (checked against this grant), not "unchanged".
        left = TNAuthList.from_intervals(
            (s.length, s.lo, s.hi) for s in _open_spans(session, kind, grant, now)
        )
        store.set_scope_key(
            session,
            kind,
            grant.id,
            scope_key(grant.grantor_id, grant.holder_id, tuple(left.intervals())),
        )
    return not remaining
