"""Repository functions of the TN registry's grants (assignments, delegations) and their number
spans: read, change and end them. Each takes the caller's session and never commits.

A span covers at most one aligned block of ``SPAN_BLOCK`` numbers, so the spans that overlap
numbers ``[lo, hi]`` all start in ``[lo - SPAN_BLOCK + 1, hi]``: every lookup below is a bounded
range scan of a ``(length, lo)`` index, on SQLite and PostgreSQL alike. New grants and spans are
written by ``registry_bulk``; status, traceback and certificate lookups are in ``registry_queries``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from ca.storage import Transaction
from ca.storage.models import AssignmentRow, AssignmentSpanRow, DelegationRow, DelegationSpanRow
from ca.storage.records import Grant, Span
from ca.storage.repo import DriverSQL, Unit, read_datetime, unit_dialect

SPAN_BLOCK = 1000
#: Registry writers queue on this PostgreSQL advisory lock (SQLite writers already queue on
#: BEGIN IMMEDIATE), so "one holder at a time" is checked and written without a race.
_REGISTRY_LOCK = 0x64656C65  # "dele"

Window = tuple[int, int, int]  # (length, lo, hi)


@dataclass(frozen=True)
class _Kind:
    grant: Any
    span: Any
    grant_column: Any  # span -> grant id
    holder_column: Any  # span -> holder (enterprise or BPO)
    grantor: Any  # grant -> grantor
    holder: Any  # grant -> holder


KINDS = {
    "assignment": _Kind(
        AssignmentRow,
        AssignmentSpanRow,
        AssignmentSpanRow.assignment_id,
        AssignmentSpanRow.enterprise_id,
        AssignmentRow.authority_id,
        AssignmentRow.enterprise_id,
    ),
    "delegation": _Kind(
        DelegationRow,
        DelegationSpanRow,
        DelegationSpanRow.delegation_id,
        DelegationSpanRow.bpo_id,
        DelegationRow.enterprise_id,
        DelegationRow.bpo_id,
    ),
}


def lock_registry(session: Session) -> None:
    """Serialize registry writers for the rest of this transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _REGISTRY_LOCK})


# --- grants --------------------------------------------------------------------------------


def get_grant(session: Session, kind: str, grant_id: str) -> Grant | None:
    row = session.get(KINDS[kind].grant, grant_id)
    return None if row is None else _grant(kind, row)


def grants_by_scope_key(
    session: Session, kind: str, claims: Iterable[tuple[str, Window]], now: dt.datetime
) -> list[Grant]:
    """Unended grants with these scope keys (re-posting the same numbers finds its grant).

    ``claims`` are (scope key, first interval of the numbers it names). A grant's key names the
    numbers its open spans hold (a narrowed grant gets a new key), so the grant with key k whose
    numbers start at (length, lo) has a span in force after ``now`` that starts there: the
    lookup is a probe of the spans' (length, lo) index, and the key needs no index of its own.
    """
    spec = KINDS[kind]
    wanted = sorted(set(claims))
    found: dict[str, Grant] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.scalars(
            select(spec.grant)
            .join(spec.span, spec.grant_column == spec.grant.id)
            .where(
                tuple_(spec.span.length, spec.span.lo).in_([(n, lo) for _, (n, lo, _) in chunk]),
                spec.span.active_until > now,
                spec.grant.scope_key.in_([key for key, _ in chunk]),
                spec.grant.ended_at.is_(None),
            )
        )
        found.update((row.id, _grant(kind, row)) for row in rows)
    return list(found.values())


def grants_of(
    session: Session,
    kind: str,
    *,
    holder_id: str | None = None,
    grantor_id: str | None = None,
    active_at: dt.datetime | None = None,
) -> list[Grant]:
    spec = KINDS[kind]
    query = select(spec.grant).order_by(spec.grant.created_at, spec.grant.id)
    if holder_id is not None:
        query = query.where(spec.holder == holder_id)
    if grantor_id is not None:
        query = query.where(spec.grantor == grantor_id)
    if active_at is not None:
        query = query.where(
            spec.grant.valid_from <= active_at,
            spec.grant.expires_at > active_at,
            or_(spec.grant.ended_at.is_(None), spec.grant.ended_at > active_at),
        )
    return [_grant(kind, row) for row in session.scalars(query)]


def expired_unended(session: Session, kind: str, now: dt.datetime) -> list[Grant]:
    table = KINDS[kind].grant
    rows = session.scalars(
        select(table).where(table.ended_at.is_(None), table.expires_at <= now).order_by(table.id)
    )
    return [_grant(kind, row) for row in rows]


def end_grant(session: Session, kind: str, grant_id: str, at: dt.datetime, reason: str) -> None:
    """Mark a grant ended and close its spans that were still open at ``at``."""
    spec = KINDS[kind]
    session.execute(
        update(spec.grant)
        .where(spec.grant.id == grant_id, spec.grant.ended_at.is_(None))
        .values(ended_at=at, end_reason=reason)
    )
    _close(session, spec, spec.grant_column == grant_id, at)


def change_grant(session: Session, kind: str, old: Grant, new: Grant) -> None:
    """Restate an unended grant (expiry, evidence, or the start of one not yet in force); its
    open spans follow."""
    spec = KINDS[kind]
    session.execute(
        update(spec.grant)
        .where(spec.grant.id == old.id)
        .values(valid_from=new.valid_from, expires_at=new.expires_at, evidence=new.evidence)
    )
    session.execute(
        update(spec.span)
        .where(spec.grant_column == old.id, spec.span.active_until == old.expires_at)
        .values(active_until=new.expires_at)
    )
    if new.valid_from != old.valid_from:
        session.execute(
            update(spec.span)
            .where(spec.grant_column == old.id, spec.span.active_from == old.valid_from)
            .values(active_from=new.valid_from)
        )


def set_scope_key(session: Session, kind: str, grant_id: str, scope_key: str) -> None:
    """After part of a grant ended, its key names the numbers it still holds."""
    table = KINDS[kind].grant
    session.execute(update(table).where(table.id == grant_id).values(scope_key=scope_key))


def _grant(kind: str, row: Any) -> Grant:
    if kind == "assignment":
        grantor, holder, moved = row.authority_id, row.enterprise_id, row.transferred_from
    else:
        grantor, holder, moved = row.enterprise_id, row.bpo_id, None
    return Grant(
        id=row.id,
        kind=kind,
        grantor_id=grantor,
        holder_id=holder,
        scope_key=row.scope_key,
        valid_from=row.valid_from,
        expires_at=row.expires_at,
        evidence=row.evidence,
        created_at=row.created_at,
        created_by=row.created_by,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
        transferred_from=moved,
    )


def grants_by_id(session: Session, kind: str, grant_ids: Iterable[str]) -> list[Grant]:
    table = KINDS[kind].grant
    wanted = sorted(set(grant_ids))
    # One array parameter on PostgreSQL; SQLite caps bound parameters, so chunks there.
    postgres = session.get_bind().dialect.name == "postgresql"
    step = (len(wanted) or 1) if postgres else 500
    found: list[Grant] = []
    for start in range(0, len(wanted), step):
        chunk = wanted[start : start + step]
        condition = (
            table.id == func.any(bindparam("ids", chunk, type_=ARRAY(String())))
            if postgres
            else table.id.in_(chunk)
        )
        found.extend(
            _grant(kind, row)
            for row in session.execute(select(*table.__table__.columns).where(condition))
        )
    return found


def count_rows(session: Session, kind: str) -> int:
    return int(session.scalar(select(func.count()).select_from(KINDS[kind].grant)) or 0)


# --- spans ---------------------------------------------------------------------------------


def close_spans(session: Session, kind: str, span_ids: Iterable[int], at: dt.datetime) -> None:
    """End these spans at ``at`` (the caller re-adds whatever part of them continues)."""
    spec = KINDS[kind]
    ids = list(span_ids)
    for start in range(0, len(ids), 500):
        _close(session, spec, spec.span.id.in_(ids[start : start + 500]), at)


def _close(session: Session, spec: _Kind, which: Any, at: dt.datetime) -> None:
    """End spans at ``at``. A span not yet begun then keeps a zero-length period: it was never in
    force, and traceback still finds it."""
    table = spec.span
    session.execute(
        update(table)
        .where(which, table.active_until > at, table.active_from <= at)
        .values(active_until=at)
    )
    session.execute(
        update(table).where(which, table.active_from > at).values(active_until=table.active_from)
    )


def grant_spans(
    session: Session, kind: str, grant_id: str, at: dt.datetime | None = None
) -> list[Span]:
    """The spans of one grant; only those active at ``at`` when it is given."""
    spec = KINDS[kind]
    query = select(spec.span).where(spec.grant_column == grant_id)
    if at is not None:
        query = query.where(spec.span.active_from <= at, spec.span.active_until > at)
    return [
        span_from_row(kind, row)
        for row in session.scalars(query.order_by(spec.span.length, spec.span.lo))
    ]


def spans_at(
    session: Transaction,
    kind: str,
    windows: Iterable[Window],
    at: dt.datetime,
    *,
    holder_ids: Sequence[str] | None = None,
    enterprise_ids: Sequence[str] | None = None,
) -> list[Span]:
    """Spans active at ``at`` that overlap any window, optionally of some holders only."""
    spec = KINDS[kind]
    return overlapping_spans(
        session,
        kind,
        windows,
        [spec.span.active_from <= at, spec.span.active_until > at],
        holder_ids,
        enterprise_ids,
    )


#: Every span of one holder active at ``:at`` (a certificate request that names no numbers asks
#: this), on the driver: (grant, holder, enterprise, shared, length, lo, hi, from, until, id).
_HOLDER_SPANS = {
    "assignment": DriverSQL(
        "SELECT assignment_id, enterprise_id, enterprise_id, shared, length, lo, hi, "
        "active_from, active_until, id FROM assignment_spans "
        "WHERE enterprise_id = :holder AND active_from <= :at AND active_until > :at"
    ),
    "delegation": DriverSQL(
        "SELECT delegation_id, bpo_id, enterprise_id, 0, length, lo, hi, "
        "active_from, active_until, id FROM delegation_spans "
        "WHERE bpo_id = :holder AND active_from <= :at AND active_until > :at"
    ),
}


def holder_spans_at(unit: Unit, kind: str, holder_id: str, at: dt.datetime) -> list[Span]:
    """Every span of one holder active at ``at``, whatever its numbers."""
    rows = _HOLDER_SPANS[kind].execute(unit, {"holder": holder_id, "at": at})
    dialect = unit_dialect(unit)
    return [
        Span(
            grant_id=row[0],
            holder_id=row[1],
            enterprise_id=row[2],
            shared=bool(row[3]),
            length=row[4],
            lo=row[5],
            hi=row[6],
            active_from=read_datetime(row[7], dialect),
            active_until=read_datetime(row[8], dialect),
            id=row[9],
        )
        for row in rows
    ]


def spans_during(
    session: Session,
    kind: str,
    windows: Iterable[Window],
    start: dt.datetime,
    end: dt.datetime,
    *,
    holder_ids: Sequence[str] | None = None,
) -> list[Span]:
    """Spans active at any moment of [start, end) that overlap any window."""
    spec = KINDS[kind]
    return overlapping_spans(
        session,
        kind,
        windows,
        [spec.span.active_from < end, spec.span.active_until > start],
        holder_ids,
        None,
    )


def spans_ever(session: Session, kind: str, windows: Iterable[Window]) -> list[Span]:
    """Every span, current or past, that overlaps a window (for traceback)."""
    return overlapping_spans(session, kind, windows, [], None, None)


def overlapping_spans(
    session: Transaction,
    kind: str,
    windows: Iterable[Window],
    conditions: list[Any],
    holder_ids: Sequence[str] | None,
    enterprise_ids: Sequence[str] | None,
) -> list[Span]:
    spec = KINDS[kind]
    table = spec.span
    found: list[Span] = []
    for length, lo, hi in windows:
        # Core rows, not ORM objects: a large window (authorize, a bulk post) reads thousands.
        query = select(*table.__table__.columns).where(
            table.length == length,
            table.lo.between(lo - SPAN_BLOCK + 1, hi),
            table.hi >= lo,
            *conditions,
        )
        if holder_ids is not None:
            query = query.where(spec.holder_column.in_(list(holder_ids)))
        if enterprise_ids is not None:
            query = query.where(table.enterprise_id.in_(list(enterprise_ids)))
        found.extend(span_from_row(kind, row) for row in session.execute(query))
    return found


def span_from_row(kind: str, row: Any) -> Span:
    if kind == "assignment":
        grant_id, holder, shared = row.assignment_id, row.enterprise_id, row.shared
    else:
        grant_id, holder, shared = row.delegation_id, row.bpo_id, False
    return Span(
        grant_id=grant_id,
        holder_id=holder,
        enterprise_id=row.enterprise_id,
        length=row.length,
        lo=row.lo,
        hi=row.hi,
        active_from=row.active_from,
        active_until=row.active_until,
        shared=shared,
        id=row.id,
    )
