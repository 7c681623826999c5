"""Repository functions that write the TN registry in bulk: new grants and their spans, a post of
assignments (found with one range scan a run of numbers, written with COPY on PostgreSQL) and the
grants it restates. Each takes the caller's session and never commits.

A post of assignments finds everything it touches with one index range scan per run of adjacent
numbers (a sorted file of a million rows is a handful of scans), lets the registry apply its
rules to what was found, and writes with COPY on PostgreSQL: the server maintains the indexes
while Python formats the next rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Boolean, bindparam, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ca.storage.bulk import Escaped, Times, bulk_insert, copy_lines, copying, escape
from ca.storage.models import AssignmentRow, AssignmentSpanRow, UTCDateTime
from ca.storage.records import Grant, Span
from ca.storage.registry import (
    KINDS,
    SPAN_BLOCK,
    Window,
    change_grant,
    overlapping_spans,
    span_from_row,
)

# --- grants and spans ----------------------------------------------------------------------


def add_grants(session: Session, grants: Sequence[Grant]) -> None:
    """Insert assignments or delegations (all of one kind per call)."""
    if not grants:
        return
    kind = grants[0].kind
    if copying(session, len(grants)):
        times = Times()
        if kind == "assignment":
            columns = "id, authority_id, enterprise_id, " + _GRANT_COLUMNS + ", transferred_from"
        else:
            columns = "id, enterprise_id, bpo_id, " + _GRANT_COLUMNS
        lines = (_grant_line(grant, times) for grant in grants)
        copy_lines(session.connection(), KINDS[kind].grant.__tablename__, columns, lines)
        return
    bulk_insert(session, KINDS[kind].grant, [_grant_row(grant) for grant in grants])


_GRANT_COLUMNS = (
    "scope_key, valid_from, expires_at, evidence, created_at, created_by, ended_at, end_reason"
)


def _grant_line(g: Grant, t: Times) -> str:
    fields = [
        g.id,
        g.grantor_id,
        g.holder_id,
        g.scope_key,
        t[g.valid_from],
        t[g.expires_at],
        escape(g.evidence),
        t[g.created_at],
        escape(g.created_by),
        t[g.ended_at],
        escape(g.end_reason),
    ]
    if g.kind == "assignment":
        fields.append(escape(g.transferred_from))
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


def add_spans(session: Session, kind: str, spans: Sequence[Span]) -> None:
    spec = KINDS[kind]
    if copying(session, len(spans)):
        t = Times()
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
        copy_lines(session.connection(), spec.span.__tablename__, columns, lines)
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
    bulk_insert(session, spec.span, rows)


_SPAN_COLUMNS = "length, lo, hi, active_from, active_until"


# --- posts of assignments --------------------------------------------------------------------


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
    if not copying(session, count):
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
        bulk_insert(session, AssignmentRow, grants)
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
        bulk_insert(session, AssignmentSpanRow, spans)
        return
    connection = session.connection()
    t, ids = Times(), Escaped()
    tail = f"{t[created_at]}\t{escape(created_by)}"
    written: list[NewAssignment] = []

    def grant_lines() -> Iterator[str]:
        for r in rows:
            written.append(r)
            yield (
                f"{r.id}\t{ids[r.authority_id]}\t{ids[r.enterprise_id]}\t{r.scope_key}\t"
                f"{t[r.valid_from]}\t{t[r.expires_at]}\t{escape(r.evidence)}\t{tail}"
            )

    copy_lines(
        connection,
        "assignments",
        "id, authority_id, enterprise_id, scope_key, valid_from, expires_at, evidence, "
        "created_at, created_by",
        grant_lines(),
    )
    copy_lines(
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
        found = overlapping_spans(
            session, kind, windows, [spec.span.active_until > after], None, None
        )
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
        found = [span_from_row(kind, row) for row in rows]
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
    return [span_from_row(kind, row) for row in rows]


def change_grants(session: Session, kind: str, changes: Sequence[tuple[Grant, Grant]]) -> None:
    """change_grant() for each (old, new); many at once on PostgreSQL."""
    if kind != "assignment" or not copying(session, len(changes)):
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
    t = Times()
    copy_lines(
        connection,
        "registry_changes",
        "id, valid_from, expires_at, evidence, old_valid_from, old_expires_at",
        (
            f"{old.id}\t{t[new.valid_from]}\t{t[new.expires_at]}\t{escape(new.evidence)}\t"
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
