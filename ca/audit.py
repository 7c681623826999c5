"""A hash-chained audit trail: every state change is an event carrying the hash of the one before.

Each event's hash is SHA-256 over a canonical JSON of its fields and the previous hash, so changing,
removing or reordering any event breaks the chain from that point; the head (last seq and hash) is
kept apart, so removing the newest events is noticed too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ca.clock import Clock
from ca.storage import Session
from ca.storage import audit as store
from ca.storage.audit import canonical_json
from ca.storage.engine import DriverTransaction
from ca.storage.records import AuditEvent
from ca.storage.repo import Unit

GENESIS_HASH = "0" * 64


def event_hash(event: AuditEvent, details_json: str | None = None) -> str:
    """SHA-256 over the canonical JSON of the event's fields, its details and the previous hash."""
    details = details_json if details_json is not None else canonical_json(event.details)
    return _chain_hash(
        event.seq,
        event.at,
        event.actor,
        event.action,
        event.object_type,
        event.object_id,
        event.prev_hash,
        details,
    )


def _chain_hash(
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    prev_hash: str,
    details_json: str,
) -> str:
    head = canonical_json(
        [seq, at.astimezone(dt.UTC).isoformat(), actor, action, object_type, object_id, prev_hash]
    )
    return hashlib.sha256(f"{head}{details_json}".encode()).hexdigest()


@dataclass(frozen=True)
class AuditVerification:
    """Outcome of `audit verify`: how many events were checked and what is wrong, if anything."""

    events: int
    head_seq: int
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditLog:
    """Appends events inside the caller's transaction and verifies the chain."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def record(
        self,
        session: Unit,
        *,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one event; it becomes visible (and the head moves) when the caller commits.

        On a driver transaction the events of the whole transaction are appended together just
        before its commit, in the order recorded, with one move of the head: a transaction
        shared by several issuances (group commit) moves the head once.
        """
        event = (actor, action, object_type, object_id, canonical_json(details or {}))
        if isinstance(session, DriverTransaction):
            pending = session.pending.get("audit")
            if pending is None:
                pending = session.pending["audit"] = []
                session.before_commit.append(self._append_pending)
            pending.append(event)
            return
        self._append(session, [event])

    def _append_pending(self, unit: DriverTransaction) -> None:
        self._append(unit, unit.pending.pop("audit", []))

    def _append(self, session: Unit, events: list[tuple[str, str, str, str, str]]) -> None:
        if not events:
            return
        seq, previous_hash = store.advance_audit_head(session, len(events))
        at = self._clock.now()
        rows: list[dict[str, object]] = []
        for actor, action, object_type, object_id, details_json in events:
            digest = _chain_hash(
                seq, at, actor, action, object_type, object_id, previous_hash, details_json
            )
            rows.append(
                {
                    "seq": seq,
                    "at": at,
                    "actor": actor,
                    "action": action,
                    "object_type": object_type,
                    "object_id": object_id,
                    "details": details_json,
                    "prev_hash": previous_hash,
                    "hash": digest,
                }
            )
            seq, previous_hash = seq + 1, digest
        store.append_audit_events(session, rows)

    def verify(self, session: Session) -> AuditVerification:
        """Walk the chain from genesis; report the first break of each kind."""
        problems: list[str] = []
        expected_prev, expected_seq, count = GENESIS_HASH, 1, 0
        for event in store.iter_audit_events(session):
            count += 1
            if event.seq != expected_seq:
                problems.append(f"event {expected_seq} is missing (next present is {event.seq})")
            if event.prev_hash != expected_prev:
                problems.append(
                    f"event {event.seq} does not follow its predecessor (removed or reordered)"
                )
            if event_hash(event) != event.hash:
                problems.append(
                    f"event {event.seq} was altered: its hash does not match its content"
                )
            expected_prev, expected_seq = event.hash, event.seq + 1
            if len(problems) >= 20:
                break
        head_seq, head_hash = store.audit_head(session)
        if not problems and (head_seq != expected_seq - 1 or head_hash != expected_prev):
            problems.append(
                f"the chain ends at event {expected_seq - 1} but the head says {head_seq}: "
                "events were removed from the end"
            )
        return AuditVerification(events=count, head_seq=head_seq, problems=tuple(problems))
