"""A post of assignments (ATIS-1000089 §5, CTND POST), from one row to a million: one range scan
a run of adjacent numbers finds all that the post touches, the one-holder rule runs on what was
found, and a bulk post is written by COPY while its keys and audit digest are made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from ca.registry.conflicts import Candidate, conflict_error, conflicts_with, find_within
from ca.registry.numbers import merged, scope_key_of, spans_of
from ca.registry.posts import (
    GrantRequest,
    IsoTimes,
    PostedGrants,
    PostResult,
    audit_line,
    match,
    numbers_text,
    scope_keys,
)
from ca.storage import Session
from ca.storage.records import Grant, Span
from ca.storage.registry import grants_by_id
from ca.storage.registry_bulk import NewAssignment, add_assignments, change_grants, spans_near


def post_assignments(
    session: Session,
    requests: Sequence[GrantRequest],
    ids: Sequence[str],
    now: dt.datetime,
    actor: str,
) -> PostResult:
    """Check and write assignments: one range scan a run of adjacent numbers finds all that
    the post touches, the rules run on what was found, and a bulk post is written by COPY."""
    # 1. The stored spans the post touches: runs of adjacent numbers, one range scan each.
    windows, overlapping = merged(i for r in requests for i in r.intervals)
    found = spans_near(session, "assignment", windows, now)
    if not found and not overlapping:
        return _create_all(session, requests, ids, now, actor)
    keys = scope_keys(requests)
    # 2. Re-posts: the stored grant with the same key, where the post's numbers start.
    stored = _restated(session, requests, keys, found, now) if found else {}
    result, changed = match("assignment", requests, keys, ids, stored, now, actor)
    # 3. The one-holder rule, within the post (if any of its numbers overlap) and against
    # what is stored.
    candidates = _candidates(requests, result, changed, now)
    conflicts = find_within(candidates) if overlapping else []
    conflicts += conflicts_with(candidates, found)
    if conflicts:
        raise conflict_error(conflicts, {i: r.label for i, r in enumerate(requests)})
    # 4. New grants with their spans; restated grants changed in place.
    rows = _new_assignments(requests, result.created(), ids, keys, now)
    add_assignments(session, rows, len(rows), now, actor)
    if changed:
        changes = [(old, result.grants[i]) for i, old in changed.items()]
        change_grants(session, "assignment", changes)
    return result


def _create_all(
    session: Session,
    requests: Sequence[GrantRequest],
    ids: Sequence[str],
    now: dt.datetime,
    actor: str,
) -> PostResult:
    """Every request a new assignment: nothing is stored near its numbers and no two requests
    share one, so nothing can clash and nothing is restated. The keys and the audit digest are
    made while the rows stream to the database, the slower side of a bulk write."""
    keys: list[str] = []
    digest = hashlib.sha256()
    rows = _creating(requests, ids, now, keys, digest)
    add_assignments(session, rows, len(requests), now, actor)
    grants = PostedGrants("assignment", requests, keys, ids, now, actor, {})
    return PostResult(grants, ["created"] * len(requests), digest.hexdigest())


def _creating(
    requests: Sequence[GrantRequest],
    ids: Sequence[str],
    now: dt.datetime,
    keys: list[str],
    digest: Any,
) -> Iterator[NewAssignment]:
    """The rows of new assignments, one a request; fills ``keys`` and feeds the audit
    ``digest`` (the lines of ``PostedGrants.digest_lines``) on the way."""
    iso = IsoTimes()
    lines: list[str] = []
    for index, (grantor, holder, intervals, expires_at, valid_from, evidence, _) in enumerate(
        requests
    ):
        text = numbers_text(intervals, ";")
        keys.append(scope_key_of(grantor, holder, text))
        start = valid_from or now
        if len(intervals) > 1:
            text = numbers_text(intervals, ",")
        lines.append(
            audit_line(ids[index], grantor, holder, text, iso[start], iso[expires_at], evidence)
        )
        if len(lines) == 10_000:
            digest.update("".join(lines).encode())
            lines.clear()
        yield _new_assignment(requests[index], ids[index], keys[index], now)
    digest.update("".join(lines).encode())


def _candidates(
    requests: Sequence[GrantRequest],
    result: PostResult,
    changed: dict[int, Grant],
    now: dt.datetime,
) -> list[Candidate]:
    """The spans that new and changed assignments would hold, for the one-holder rule."""
    candidates = []
    for index in [*result.created(), *changed]:
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
    return candidates


def _restated(
    session: Session,
    requests: Sequence[GrantRequest],
    keys: Sequence[str],
    found: Sequence[Span],
    now: dt.datetime,
) -> dict[int, Grant]:
    """The stored grants that requests restate, by request index: a grant's key names the
    numbers its open spans hold, so the grant a re-post restates has a span in force where the
    post's numbers start, and the same key."""
    starts: dict[tuple[int, int], list[str]] = {}
    for span in found:
        starts.setdefault((span.length, span.lo), []).append(span.grant_id)
    maybe: dict[int, list[str]] = {}
    for index, request in enumerate(requests):
        if request.intervals:
            length, lo, _ = request.intervals[0]
            grant_ids = starts.get((length, lo))
            if grant_ids:
                maybe[index] = grant_ids
    if not maybe:
        return {}
    grants = {
        g.id: g
        for g in grants_by_id(session, "assignment", {i for ids in maybe.values() for i in ids})
        if g.ended_at is None and g.expires_at > now
    }
    restated = {}
    for index, grant_ids in maybe.items():
        for grant_id in grant_ids:
            grant = grants.get(grant_id)
            if grant is not None and grant.scope_key == keys[index]:
                restated[index] = grant
    return restated


def _new_assignments(
    requests: Sequence[GrantRequest],
    indexes: Sequence[int],
    ids: Sequence[str],
    keys: Sequence[str],
    now: dt.datetime,
) -> list[NewAssignment]:
    """The rows of the assignments these requests create."""
    return [_new_assignment(requests[index], ids[index], keys[index], now) for index in indexes]


def _new_assignment(
    request: GrantRequest, grant_id: str, key: str, now: dt.datetime
) -> NewAssignment:
    """The row of the assignment one request creates: valid from the request's start (``now``
    when it names none); its spans' record of activity begins no earlier than ``now``."""
    grantor, holder, intervals, expires_at, valid_from, evidence, _ = request
    start = valid_from or now
    return NewAssignment(
        grant_id,
        grantor,
        holder,
        key,
        start,
        max(start, now),
        expires_at,
        evidence,
        spans_of(intervals),
    )
