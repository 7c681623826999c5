"""Repository functions of the TN registry: grants (assignments, delegations), their number spans,
API keys and certificate bases. Each takes the caller's session and never commits.

A span covers at most one aligned block of ``SPAN_BLOCK`` numbers, so the spans that overlap
numbers ``[lo, hi]`` all start in ``[lo - SPAN_BLOCK + 1, hi]``: every lookup below is a bounded
range scan of a ``(length, lo)`` index, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    Boolean,
    String,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ca.storage.models import (
    ApiKeyRow,
    AssignmentRow,
    AssignmentSpanRow,
    CertificateBasisRow,
    CertificateRangeRow,
    CertificateRow,
    DelegationRow,
    DelegationSpanRow,
    LeaseRow,
    OrganizationRow,
    RevocationRow,
    UTCDateTime,
)
from ca.storage.records import ApiKey, Grant, Organization, Span

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


# --- API keys ------------------------------------------------------------------------------


def add_api_key(session: Session, key: ApiKey, secret_sha256: str) -> None:
    session.add(
        ApiKeyRow(
            id=key.id,
            organization_id=key.organization_id,
            role=key.role,
            secret_sha256=secret_sha256,
            created_at=key.created_at,
            created_by=key.created_by,
            revoked_at=key.revoked_at,
        )
    )


def get_api_key(session: Session, key_id: str) -> tuple[ApiKey, str] | None:
    row = session.get(ApiKeyRow, key_id)
    if row is None:
        return None
    return _api_key(row), row.secret_sha256


def list_api_keys(session: Session, organization_id: str) -> list[ApiKey]:
    rows = session.scalars(
        select(ApiKeyRow).where(ApiKeyRow.organization_id == organization_id).order_by(ApiKeyRow.id)
    )
    return [_api_key(row) for row in rows]


def revoke_api_key(session: Session, key_id: str, at: dt.datetime) -> bool:
    result = session.execute(
        update(ApiKeyRow)
        .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        row.id, row.organization_id, row.role, row.created_at, row.created_by, row.revoked_at
    )


# --- grants --------------------------------------------------------------------------------


def add_grants(session: Session, grants: Sequence[Grant]) -> None:
    """Insert assignments or delegations (all of one kind per call)."""
    if not grants:
        return
    kind = grants[0].kind
    if _copying(session, len(grants)):
        times = _Times()
        if kind == "assignment":
            columns = "id, authority_id, enterprise_id, " + _GRANT_COLUMNS + ", transferred_from"
        else:
            columns = "id, enterprise_id, bpo_id, " + _GRANT_COLUMNS
        lines = (_grant_line(grant, times) for grant in grants)
        _copy_lines(session.connection(), KINDS[kind].grant.__tablename__, columns, lines)
        return
    _bulk_insert(session, KINDS[kind].grant, [_grant_row(grant) for grant in grants])


_GRANT_COLUMNS = (
    "scope_key, valid_from, expires_at, evidence, created_at, created_by, ended_at, end_reason"
)


def _grant_line(g: Grant, t: _Times) -> str:
    fields = [
        g.id,
        g.grantor_id,
        g.holder_id,
        g.scope_key,
        t[g.valid_from],
        t[g.expires_at],
        _escape(g.evidence),
        t[g.created_at],
        _escape(g.created_by),
        t[g.ended_at],
        _escape(g.end_reason),
    ]
    if g.kind == "assignment":
        fields.append(_escape(g.transferred_from))
    return "\t".join(fields)


def _grant_row(grant: Grant) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": grant.id,
        "scope_key": grant.scope_key,
        "valid_from": grant.valid_from,
        "expires_at": grant.expires_at,
        "evidence": grant.evidence,
        "created_at": grant.created_at,
        "created_by": grant.created_by,
        "ended_at": grant.ended_at,
        "end_reason": grant.end_reason,
    }
    if grant.kind == "assignment":
        row.update(
            authority_id=grant.grantor_id,
            enterprise_id=grant.holder_id,
            transferred_from=grant.transferred_from,
        )
    else:
        row.update(enterprise_id=grant.grantor_id, bpo_id=grant.holder_id)
    return row


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


# --- spans ---------------------------------------------------------------------------------


def add_spans(session: Session, kind: str, spans: Sequence[Span]) -> None:
    spec = KINDS[kind]
    if _copying(session, len(spans)):
        t = _Times()
        if kind == "assignment":
            columns = "assignment_id, enterprise_id, shared, " + _SPAN_COLUMNS
            lines = (
                f"{s.grant_id}\t{s.enterprise_id}\t{'t' if s.shared else 'f'}\t{s.length}\t"
                f"{s.lo}\t{s.hi}\t{t[s.active_from]}\t{t[s.active_until]}"
                for s in spans
            )
        else:
            columns = "delegation_id, enterprise_id, bpo_id, " + _SPAN_COLUMNS
            lines = (
                f"{s.grant_id}\t{s.enterprise_id}\t{s.holder_id}\t{s.length}\t"
                f"{s.lo}\t{s.hi}\t{t[s.active_from]}\t{t[s.active_until]}"
                for s in spans
            )
        _copy_lines(session.connection(), spec.span.__tablename__, columns, lines)
        return
    rows = []
    for span in spans:
        row = {
            "enterprise_id": span.enterprise_id,
            "length": span.length,
            "lo": span.lo,
            "hi": span.hi,
            "active_from": span.active_from,
            "active_until": span.active_until,
        }
        if kind == "assignment":
            row.update(assignment_id=span.grant_id, shared=span.shared)
        else:
            row.update(delegation_id=span.grant_id, bpo_id=span.holder_id)
        rows.append(row)
    _bulk_insert(session, spec.span, rows)


_SPAN_COLUMNS = "length, lo, hi, active_from, active_until"


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
        _span(kind, row) for row in session.scalars(query.order_by(spec.span.length, spec.span.lo))
    ]


def spans_at(
    session: Session,
    kind: str,
    windows: Iterable[Window],
    at: dt.datetime,
    *,
    holder_ids: Sequence[str] | None = None,
    enterprise_ids: Sequence[str] | None = None,
) -> list[Span]:
    """Spans active at ``at`` that overlap any window, optionally of some holders only."""
    spec = KINDS[kind]
    return _overlapping(
        session,
        kind,
        windows,
        [spec.span.active_from <= at, spec.span.active_until > at],
        holder_ids,
        enterprise_ids,
    )


def holder_spans_at(session: Session, kind: str, holder_id: str, at: dt.datetime) -> list[Span]:
    """Every span of one holder active at ``at``, whatever its numbers."""
    spec = KINDS[kind]
    rows = session.scalars(
        select(spec.span).where(
            spec.holder_column == holder_id,
            spec.span.active_from <= at,
            spec.span.active_until > at,
        )
    )
    return [_span(kind, row) for row in rows]


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
    return _overlapping(
        session,
        kind,
        windows,
        [spec.span.active_from < end, spec.span.active_until > start],
        holder_ids,
        None,
    )


def spans_ever(session: Session, kind: str, windows: Iterable[Window]) -> list[Span]:
    """Every span, current or past, that overlaps a window (for traceback)."""
    return _overlapping(session, kind, windows, [], None, None)


def _overlapping(
    session: Session,
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
        found.extend(_span(kind, row) for row in session.execute(query))
    return found


# --- bulk posts of assignments ----------------------------------------------------------------
#
# A post of assignments finds everything it touches with one index range scan per run of adjacent
# numbers (a sorted file of a million rows is a handful of scans), lets the registry apply its
# rules to what was found, and writes with COPY on PostgreSQL: the server maintains the indexes
# while Python formats the next rows.


class NewAssignment(NamedTuple):
    """An assignment to write, with its spans (a tuple: a bulk post makes one a row)."""

    id: str
    authority_id: str
    enterprise_id: str
    scope_key: str
    valid_from: dt.datetime
    active_from: dt.datetime  # when its spans begin: valid_from, or now if that has passed
    expires_at: dt.datetime
    evidence: str
    spans: Sequence[tuple[int, int, int, bool]]  # (length, lo, hi, shared)


def add_assignments(
    session: Session,
    rows: Iterable[NewAssignment],
    count: int,
    created_at: dt.datetime,
    created_by: str,
) -> None:
    """Insert ``count`` new assignments and their spans. On PostgreSQL a bulk post streams
    through COPY as ``rows`` come: the server keeps up its indexes while the caller makes the
    next rows."""
    if not _copying(session, count):
        rows = list(rows)
        grants = [
            _grant_row(
                Grant(
                    r.id,
                    "assignment",
                    r.authority_id,
                    r.enterprise_id,
                    r.scope_key,
                    r.valid_from,
                    r.expires_at,
                    r.evidence,
                    created_at,
                    created_by,
                )
            )
            for r in rows
        ]
        _bulk_insert(session, AssignmentRow, grants)
        spans = [
            {
                "assignment_id": r.id,
                "enterprise_id": r.enterprise_id,
                "shared": shared,
                "length": n,
                "lo": lo,
                "hi": hi,
                "active_from": r.active_from,
                "active_until": r.expires_at,
            }
            for r in rows
            for n, lo, hi, shared in r.spans
        ]
        _bulk_insert(session, AssignmentSpanRow, spans)
        return
    connection = session.connection()
    t, ids = _Times(), _Escaped()
    tail = f"{t[created_at]}\t{_escape(created_by)}"
    written: list[NewAssignment] = []

    def grant_lines() -> Iterator[str]:
        for r in rows:
            written.append(r)
            yield (
                f"{r.id}\t{ids[r.authority_id]}\t{ids[r.enterprise_id]}\t{r.scope_key}\t"
                f"{t[r.valid_from]}\t{t[r.expires_at]}\t{_escape(r.evidence)}\t{tail}"
            )

    _copy_lines(
        connection,
        "assignments",
        "id, authority_id, enterprise_id, scope_key, valid_from, expires_at, evidence, "
        "created_at, created_by",
        grant_lines(),
    )
    _copy_lines(
        connection,
        "assignment_spans",
        "assignment_id, enterprise_id, shared, " + _SPAN_COLUMNS,
        (
            f"{r.id}\t{ids[r.enterprise_id]}\t{'t' if shared else 'f'}\t{n}\t{lo}\t{hi}\t"
            f"{t[r.active_from]}\t{t[r.expires_at]}"
            for r in written
            for n, lo, hi, shared in r.spans
        ),
    )


def spans_near(
    session: Session, kind: str, windows: Sequence[Window], after: dt.datetime
) -> list[Span]:
    """Spans still in force after ``after`` that overlap any window: one index range scan a
    window, in one statement however many windows there are."""
    if len(windows) <= 20:
        spec = KINDS[kind]
        found = _overlapping(session, kind, windows, [spec.span.active_until > after], None, None)
    elif session.get_bind().dialect.name == "postgresql":
        # Costed for the worst case of every window, the statement would be compiled by the
        # JIT: a tenth of a second spent for index probes that take microseconds.
        session.execute(text("SET LOCAL jit = off"))
        rows = session.execute(
            _NEAR[kind],
            {
                "lengths": [n for n, _, _ in windows],
                "los": [lo for _, lo, _ in windows],
                "his": [hi for _, _, hi in windows],
                "after": after,
            },
        )
        found = [_span(kind, row) for row in rows]
    else:
        found = _near_sqlite(session, kind, windows, after)
    # A span may touch two windows; each is reported once, in number order.
    unique = {span.id: span for span in found}
    return sorted(unique.values(), key=lambda s: (s.length, s.lo, s.grant_id))


def _near_statement(kind: str) -> Any:
    # OFFSET 0 keeps the subquery a subquery: flattened into a join, it lets the planner hash
    # the few windows and scan every span of the table instead of one index range a window.
    table = KINDS[kind].span.__tablename__
    return (
        text(
            "SELECT s.* FROM unnest(CAST(:lengths AS integer[]), CAST(:los AS bigint[]), "
            "CAST(:his AS bigint[])) AS w(length, lo, hi) CROSS JOIN LATERAL ("
            f"SELECT * FROM {table} s WHERE s.length = w.length "
            f"AND s.lo BETWEEN w.lo - {SPAN_BLOCK - 1} AND w.hi AND s.hi >= w.lo "
            "AND s.active_until > :after OFFSET 0) s"
        )
        .bindparams(bindparam("after", type_=UTCDateTime()))
        .columns(active_from=UTCDateTime(), active_until=UTCDateTime(), shared=Boolean())
    )


_NEAR = {kind: _near_statement(kind) for kind in KINDS}


def _near_sqlite(
    session: Session, kind: str, windows: Sequence[Window], after: dt.datetime
) -> list[Span]:
    connection = session.connection()
    connection.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS registry_windows (length INTEGER, lo INTEGER, hi INTEGER)"
    )
    cursor = connection.connection.cursor()
    try:
        cursor.execute("DELETE FROM registry_windows")
        cursor.executemany("INSERT INTO registry_windows VALUES (?, ?, ?)", windows)
    finally:
        cursor.close()
    table = KINDS[kind].span.__tablename__
    rows = session.execute(
        text(
            f"SELECT s.* FROM registry_windows w JOIN {table} s ON s.length = w.length "
            f"AND s.lo BETWEEN w.lo - {SPAN_BLOCK - 1} AND w.hi AND s.hi >= w.lo "
            "AND s.active_until > :after"
        )
        .bindparams(bindparam("after", type_=UTCDateTime()))
        .columns(active_from=UTCDateTime(), active_until=UTCDateTime(), shared=Boolean()),
        {"after": after},
    ).all()
    connection.exec_driver_sql("DELETE FROM registry_windows")
    return [_span(kind, row) for row in rows]


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


def change_grants(session: Session, kind: str, changes: Sequence[tuple[Grant, Grant]]) -> None:
    """change_grant() for each (old, new); many at once on PostgreSQL."""
    if kind != "assignment" or not _copying(session, len(changes)):
        for old, new in changes:
            change_grant(session, kind, old, new)
        return
    _change_many(session.connection(), changes)


def _change_many(connection: Connection, changes: Sequence[tuple[Grant, Grant]]) -> None:
    """change_grant() for many grants at once: the changes go in with one COPY, then one UPDATE
    for the grants and two for their spans."""
    connection.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS registry_changes (id text, valid_from timestamptz, "
        "expires_at timestamptz, evidence text, old_valid_from timestamptz, "
        "old_expires_at timestamptz) ON COMMIT DELETE ROWS"
    )
    t = _Times()
    _copy_lines(
        connection,
        "registry_changes",
        "id, valid_from, expires_at, evidence, old_valid_from, old_expires_at",
        (
            f"{old.id}\t{t[new.valid_from]}\t{t[new.expires_at]}\t{_escape(new.evidence)}\t"
            f"{t[old.valid_from]}\t{t[old.expires_at]}"
            for old, new in changes
        ),
    )
    connection.exec_driver_sql("ANALYZE registry_changes")
    connection.exec_driver_sql(
        "UPDATE assignments a SET valid_from = c.valid_from, expires_at = c.expires_at, "
        "evidence = c.evidence FROM registry_changes c WHERE a.id = c.id"
    )
    connection.exec_driver_sql(
        "UPDATE assignment_spans s SET active_until = c.expires_at FROM registry_changes c "
        "WHERE s.assignment_id = c.id AND s.active_until = c.old_expires_at"
    )
    connection.exec_driver_sql(
        "UPDATE assignment_spans s SET active_from = c.valid_from FROM registry_changes c "
        "WHERE s.assignment_id = c.id AND s.active_from = c.old_valid_from "
        "AND c.valid_from <> c.old_valid_from"
    )


def _span(kind: str, row: Any) -> Span:
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


def _bulk_insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5000):
        session.execute(insert(table), rows[start : start + 5000])


def _copying(session: Session, count: int) -> bool:
    """Bulk posts go through COPY on PostgreSQL; a handful of rows through plain INSERTs."""
    return count > 50 and session.get_bind().dialect.name == "postgresql"


def _copy_lines(connection: Connection, table: str, columns: str, lines: Iterable[str]) -> None:
    """COPY in text format, each line formatted by the caller: the driver's per-row adaptation
    costs more than the whole server side of a bulk import."""
    cursor = connection.connection.cursor()
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) == 10_000:
                copy.write("\n".join(chunk) + "\n")
                chunk.clear()
        if chunk:
            copy.write("\n".join(chunk) + "\n")
    cursor.close()


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _escape(value: str | None) -> str:
    return "\\N" if value is None else value.translate(_COPY_ESCAPES)


class _Escaped(dict[str, str]):
    """COPY text of identifiers, each escaped once: a bulk post names the same few parties."""

    def __missing__(self, key: str) -> str:
        text = _escape(key)
        self[key] = text
        return text


class _Times(dict[dt.datetime | None, str]):
    """COPY text of datetimes, each formatted once: a bulk post repeats the same few moments."""

    def __missing__(self, key: dt.datetime | None) -> str:
        text = "\\N" if key is None else key.isoformat()
        self[key] = text
        return text


def authority_spans_at(
    session: Session, authority_ids: Sequence[str], at: dt.datetime
) -> list[tuple[int, int, int]]:
    """The numbers that these TN authorities vouch for at ``at``: (length, lo, hi)."""
    span = AssignmentSpanRow
    rows = session.execute(
        select(span.length, span.lo, span.hi)
        .join(AssignmentRow, AssignmentRow.id == span.assignment_id)
        .where(
            AssignmentRow.authority_id.in_(list(authority_ids)),
            span.active_from <= at,
            span.active_until > at,
        )
    ).all()
    return [(int(n), int(lo), int(hi)) for n, lo, hi in rows]


def organizations(session: Session, ids: Iterable[str]) -> dict[str, Organization]:
    """The organizations with these ids (those that exist), by id: one query."""
    wanted = sorted(set(ids))
    found: dict[str, Organization] = {}
    for start in range(0, len(wanted), 500):
        rows = session.scalars(
            select(OrganizationRow).where(OrganizationRow.id.in_(wanted[start : start + 500]))
        )
        found.update(
            (row.id, Organization(row.id, row.kind, row.name, row.spid, row.created_at))
            for row in rows
        )
    return found


def organizations_with_spid(session: Session, spid: str) -> list[str]:
    return list(session.scalars(select(OrganizationRow.id).where(OrganizationRow.spid == spid)))


# --- status of one number ------------------------------------------------------------------


@dataclass(frozen=True)
class Holding:
    """A right over one number in force now, with the names of the parties (TN status)."""

    grant_id: str
    holder_id: str
    holder_name: str
    grantor_id: str
    grantor_name: str
    grantor_spid: str | None
    enterprise_id: str
    active_from: dt.datetime
    active_until: dt.datetime


def holdings(
    session: Session, kind: str, length: int, number: int, at: dt.datetime
) -> list[Holding]:
    """Assignments (or delegations) in force over one number at ``at``: one query, names
    joined in, for the status document."""
    params = {"length": length, "number": number, "lowest": number - SPAN_BLOCK + 1, "at": at}
    rows = session.connection().execute(_HOLDINGS[kind], params)  # Core: no ORM overhead
    return [Holding(*row) for row in rows]


def _holdings_statement(kind: str) -> Any:
    # Built once: constructing a select with aliases costs more than running it.
    spec = KINDS[kind]
    span = spec.span
    holder, grantor = aliased(OrganizationRow), aliased(OrganizationRow)
    return (
        select(
            spec.grant_column,
            holder.id,
            holder.name,
            grantor.id,
            grantor.name,
            grantor.spid,
            span.enterprise_id,
            span.active_from,
            span.active_until,
        )
        .join(spec.grant, spec.grant.id == spec.grant_column)
        .join(holder, holder.id == spec.holder)
        .join(grantor, grantor.id == spec.grantor)
        .where(
            span.length == bindparam("length"),
            span.lo.between(bindparam("lowest"), bindparam("number")),
            span.hi >= bindparam("number"),
            span.active_from <= bindparam("at", type_=UTCDateTime()),
            span.active_until > bindparam("at", type_=UTCDateTime()),
        )
        .order_by(span.enterprise_id, spec.grant_column)
    )


_HOLDINGS = {kind: _holdings_statement(kind) for kind in KINDS}


# --- certificates, as the registry sees them -----------------------------------------------


def add_certificate_basis(session: Session, serial: str, basis: str, reason: str | None) -> None:
    session.add(CertificateBasisRow(serial=serial, basis=basis, reason=reason))


@dataclass(frozen=True)
class LiveCertificate:
    """An unrevoked, unexpired certificate and the basis it was issued on."""

    serial: str
    issuer_id: str
    organization_id: str | None
    tn_auth_list_der: bytes | None
    not_before: dt.datetime
    not_after: dt.datetime
    basis: str | None


def live_certificates(
    session: Session, now: dt.datetime, organization_ids: Sequence[str] | None = None
) -> list[LiveCertificate]:
    """Delegate certificates still valid and not revoked (reconciliation checks each)."""
    query = (
        select(
            CertificateRow.serial,
            CertificateRow.issuer_id,
            CertificateRow.organization_id,
            CertificateRow.tn_auth_list_der,
            CertificateRow.not_before,
            CertificateRow.not_after,
            CertificateBasisRow.basis,
        )
        .outerjoin(RevocationRow, RevocationRow.serial == CertificateRow.serial)
        .outerjoin(CertificateBasisRow, CertificateBasisRow.serial == CertificateRow.serial)
        .where(
            CertificateRow.not_after > now,
            RevocationRow.serial.is_(None),
            CertificateRow.organization_id.is_not(None),
        )
        .order_by(CertificateRow.serial)
    )
    if organization_ids is not None:
        query = query.where(CertificateRow.organization_id.in_(list(organization_ids)))
    return [LiveCertificate(*row) for row in session.execute(query)]


@dataclass(frozen=True)
class CertificateAt:
    """A certificate whose numbers include a traced number, with its status at that moment."""

    serial: str
    issuer_id: str
    organization_id: str | None
    not_before: dt.datetime
    not_after: dt.datetime
    revoked_at: dt.datetime | None
    revocation_reason: str | None
    basis: str | None


def certificates_covering(session: Session, length: int, number: int) -> list[CertificateAt]:
    """Every certificate ever issued whose TNAuthList includes the number."""
    rows = session.execute(
        select(
            CertificateRow.serial,
            CertificateRow.issuer_id,
            CertificateRow.organization_id,
            CertificateRow.not_before,
            CertificateRow.not_after,
            RevocationRow.revoked_at,
            RevocationRow.reason,
            CertificateBasisRow.basis,
        )
        .join(CertificateRangeRow, CertificateRangeRow.serial == CertificateRow.serial)
        .outerjoin(RevocationRow, RevocationRow.serial == CertificateRow.serial)
        .outerjoin(CertificateBasisRow, CertificateBasisRow.serial == CertificateRow.serial)
        .where(
            CertificateRangeRow.length == length,
            CertificateRangeRow.lo <= number,
            CertificateRangeRow.hi >= number,
        )
        .order_by(CertificateRow.not_before, CertificateRow.serial)
        .distinct()
    ).all()
    return [CertificateAt(*row) for row in rows]


def count_rows(session: Session, kind: str) -> int:
    return int(session.scalar(select(func.count()).select_from(KINDS[kind].grant)) or 0)


# --- the jobs lease ------------------------------------------------------------------------


def take_lease(
    session: Session, name: str, holder: str, now: dt.datetime, until: dt.datetime
) -> bool:
    """Take or renew the lease ``name`` for ``holder`` if it is free, expired or already ours."""
    row = session.get(LeaseRow, name, with_for_update=True)
    if row is None:
        try:
            with session.begin_nested():
                session.add(LeaseRow(name=name, holder=holder, expires_at=until))
        except IntegrityError:
            return False  # another process created the lease at the same moment
        return True
    if row.holder != holder and row.expires_at > now:
        return False
    row.holder, row.expires_at = holder, until
    return True


def release_lease(session: Session, name: str, holder: str) -> None:
    session.execute(delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder))
