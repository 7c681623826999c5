"""Repository functions of the audit trail: claim the next sequence number, append an event, read
the chain back. Appends run on the driver (``DriverSQL``), like issuance's other hot statements.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from ca.storage.models import AuditEventRow, AuditHeadRow
from ca.storage.records import AuditEvent
from ca.storage.repo import DriverSQL, Unit

_INSERT_AUDIT_EVENT = DriverSQL(
    "INSERT INTO audit_events (seq, at, actor, action, object_type, object_id, details, prev_hash, hash) "
    "VALUES (:seq, :at, :actor, :action, :object_type, :object_id, :details, :prev_hash, :hash)"
)
_ADVANCE_AUDIT_HEAD = DriverSQL(
    "UPDATE audit_head SET seq = seq + :count WHERE id = 1 RETURNING seq, hash"
)
_SET_AUDIT_HASH = DriverSQL("UPDATE audit_head SET hash = :hash WHERE id = 1")


def canonical_json(value: object) -> str:
    """Sorted keys, no whitespace: equal content, equal text (the audit hash depends on it)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def advance_audit_head(unit: Unit, count: int = 1) -> tuple[int, str]:
    """Claim the next ``count`` sequence numbers; the head row stays locked until commit.

    Returns (the first claimed seq, the hash before it). One UPDATE both locks and advances, so
    appenders queue here and the chain never forks; ``append_audit_events`` then records the
    events and the new hash.
    """
    ((last, previous_hash),) = _ADVANCE_AUDIT_HEAD.execute(unit, {"count": count})
    return int(last) - count + 1, str(previous_hash)


def append_audit_events(unit: Unit, rows: list[dict[str, object]]) -> None:
    """Insert events (rows of the audit_events columns, ``details`` as canonical JSON text) that
    follow the head, in order, and move the head's hash to the last of them."""
    if len(rows) == 1:
        _INSERT_AUDIT_EVENT.execute(unit, rows[0])
    else:
        _INSERT_AUDIT_EVENT.execute_many(unit, rows)
    _SET_AUDIT_HASH.execute(unit, {"hash": rows[-1]["hash"]})


def audit_head(session: Session) -> tuple[int, str]:
    row = session.get_one(AuditHeadRow, 1)
    return row.seq, row.hash


def iter_audit_events(session: Session, batch: int = 1000) -> Iterator[AuditEvent]:
    """All events in sequence order, read in batches."""
    after = 0
    while True:
        rows = session.scalars(
            select(AuditEventRow)
            .where(AuditEventRow.seq > after)
            .order_by(AuditEventRow.seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield _audit_event(row)
        after = rows[-1].seq


def audit_events_for(session: Session, object_id: str) -> list[AuditEvent]:
    rows = session.scalars(
        select(AuditEventRow)
        .where(AuditEventRow.object_id == object_id)
        .order_by(AuditEventRow.seq)
    )
    return [_audit_event(row) for row in rows]


def _audit_event(row: AuditEventRow) -> AuditEvent:
    return AuditEvent(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )
