"""Posting rights: assignments (TN authority -> enterprise) and delegations (enterprise -> BPO).

ATIS-1000089 §5 "central TN database" (CTND POST) and use case 8. A post is validated whole and
written whole: one transaction, registry writers serialized, nothing of a refused post is kept.
Re-posting the same numbers for the same parties changes the existing grant (a new expiry or
evidence) instead of making a second one, so a re-imported file changes nothing. The checks are
in ``validation``, the assignment path in ``assignments``, the post's types in ``posts``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import itertools
import secrets
import time
from collections.abc import Iterator, Sequence
from typing import Any

from ca.audit import AuditLog
from ca.clock import Clock
from ca.organizations import new_id
from ca.registry.assignments import post_assignments
from ca.registry.numbers import Triple, spans_of
from ca.registry.posts import GrantRequest, PostResult, match, scope_keys
from ca.registry.validation import check_delegations, check_parties, check_periods
from ca.storage import Session
from ca.storage import registry as store
from ca.storage.engine import Storage
from ca.storage.records import Grant, Organization, Span
from ca.storage.registry_bulk import add_grants, add_spans
from ca.tnauth import TNAuthList

#: Past this many grants in one post, the audit trail gets one summary event for the post
#: (with a digest of every grant written) instead of one event per grant.
_AUDIT_EACH_UP_TO = 100


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for bulk work: a million rows make no reference
    cycles, and the collector's passes over the growing lists cost a third of a bulk import."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
        with paused_gc(), self._storage.transaction() as session:
            store.lock_registry(session)
            check_parties(session, kind, requests, acting)
            check_periods(requests, now)
            ids = _new_ids("asg" if kind == "assignment" else "dlg", len(requests))
            if kind == "assignment":
                result = post_assignments(session, requests, ids, now, actor)
            else:
                result = self._post_delegations(session, requests, ids, now, actor)
            self._record(session, kind, requests, result, actor, source)
        return result

    def _post_delegations(
        self,
        session: Session,
        requests: Sequence[GrantRequest],
        ids: Sequence[str],
        now: dt.datetime,
        actor: str,
    ) -> PostResult:
        keys = scope_keys(requests)
        claims = [
            (key, r.intervals[0]) for key, r in zip(keys, requests, strict=True) if r.intervals
        ]
        existing = {
            grant.scope_key: grant
            for grant in store.grants_by_scope_key(session, "delegation", claims, now)
            if grant.expires_at > now
        }
        stored = {i: existing[key] for i, key in enumerate(keys) if key in existing}
        result, changed = match("delegation", requests, keys, ids, stored, now, actor)
        check_delegations(session, requests, result, changed, now)
        self._write(session, "delegation", requests, result, changed, now)
        return result

    # -- writing ----------------------------------------------------------------------------

    def _write(
        self,
        session: Session,
        kind: str,
        requests: Sequence[GrantRequest],
        result: PostResult,
        changed: dict[int, Grant],
        now: dt.datetime,
    ) -> None:
        fresh = result.created()
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
        add_grants(session, grants)
        add_spans(session, kind, spans)
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
        digest = result.digest
        if digest is None:
            digest = _digest(result.grants.digest_lines(touched))
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
                "digest": digest,
            },
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


def _digest(lines: Iterator[str]) -> str:
    digest = hashlib.sha256()
    while chunk := "".join(itertools.islice(lines, 10_000)):
        digest.update(chunk.encode())
    return digest.hexdigest()


def _new_ids(prefix: str, count: int) -> list[str]:
    """Ids for the grants of one post, like ``sortable_id``: the millisecond, then 48 bits that
    start at a random value and count up, so a post's ids sort in request order and its index
    inserts append."""
    millisecond = time.time_ns() // 1_000_000
    first = secrets.randbits(48)
    return [
        f"{prefix}-{millisecond:011x}{(first + i) & 0xFFFF_FFFF_FFFF:012x}" for i in range(count)
    ]
