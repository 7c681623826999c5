"""Posting rights: assignments (TN authority -> enterprise) and delegations (enterprise -> BPO).

ATIS-1000089 §5 "central TN database" (CTND POST) and use case 8. A post is validated whole and
written whole: one transaction, registry writers serialized, nothing of a refused post is kept.
Re-posting the same numbers for the same parties changes the existing grant (a new expiry or
evidence) instead of making a second one, so a re-imported file changes nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import hashlib
import itertools
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, overload

from ca.audit import AuditLog
from ca.clock import Clock
from ca.errors import CAError, ErrorKind, malformed
from ca.organizations import new_id
from ca.registry.authorize import authorize
from ca.registry.conflicts import Candidate, conflict_error, conflicts_with, find_within
from ca.registry.numbers import Triple, merged, scope_key, scope_key_of, spans_of
from ca.storage import Session, repo
from ca.storage import registry as store
from ca.storage.engine import Storage
from ca.storage.records import Grant, Organization, Span
from ca.tnauth import TNAuthList

#: Past this many grants in one post, the audit trail gets one summary event for the post
#: (with a digest of every grant written) instead of one event per grant.
_AUDIT_EACH_UP_TO = 100
_EVIDENCE_MAX = 500


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


class GrantRequest(NamedTuple):
    """One assignment (grantor = TN authority, holder = enterprise) or delegation (grantor =
    enterprise, holder = BPO) to post (a tuple: a bulk import makes one per row)."""

    grantor_id: str
    holder_id: str
    intervals: tuple[Triple, ...]
    expires_at: dt.datetime
    valid_from: dt.datetime | None = None
    evidence: str = ""
    label: str = ""  # where it came from, for errors: "line 12: "


class PostedGrants(Sequence[Grant]):
    """The grant of each request of a post, in request order, made when it is asked for: a bulk
    post of a million rows keeps one id a row, not one object."""

    def __init__(
        self,
        kind: str,
        requests: Sequence[GrantRequest],
        keys: Sequence[str],
        ids: Sequence[str],
        now: dt.datetime,
        actor: str,
        stored: dict[int, Grant],
    ) -> None:
        self._kind = kind
        self._requests = requests
        self._keys = keys
        self._ids = ids
        self._now = now
        self._actor = actor
        self._stored = stored  # requests that restate a stored grant: the grant as it ends up

    def __len__(self) -> int:
        return len(self._requests)

    @overload
    def __getitem__(self, index: int) -> Grant: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Grant]: ...

    def __getitem__(self, index: int | slice) -> Grant | Sequence[Grant]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = range(len(self))[index]  # negative indexes; IndexError past the end
        stored = self._stored.get(index)
        if stored is not None:
            return stored
        request = self._requests[index]
        return Grant(
            id=self._ids[index],
            kind=self._kind,
            grantor_id=request.grantor_id,
            holder_id=request.holder_id,
            scope_key=self._keys[index],
            valid_from=request.valid_from or self._now,
            expires_at=request.expires_at,
            evidence=request.evidence,
            created_at=self._now,
            created_by=self._actor,
        )

    def __iter__(self) -> Iterator[Grant]:
        return (self[i] for i in range(len(self)))

    def digest_lines(self, indexes: Sequence[int]) -> Iterator[str]:
        """One line a grant for the audit digest of the post."""
        iso = _Iso()
        for index in indexes:
            g = self[index]
            numbers = _numbers_text(self._requests[index].intervals, ",")
            yield _audit_line(
                g.id,
                g.grantor_id,
                g.holder_id,
                numbers,
                iso[g.valid_from],
                iso[g.expires_at],
                g.evidence,
            )


@dataclass
class PostResult:
    """What a post did, in request order: each request's grant and whether it was new."""

    grants: PostedGrants
    outcomes: list[str]  # created | changed | unchanged
    digest: str | None = None  # of the audit lines, when they were made while writing

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
        with paused_gc(), self._storage.transaction() as session:
            store.lock_registry(session)
            self._check_parties(session, kind, requests, acting)
            _check_periods(requests, now)
            ids = _new_ids("asg" if kind == "assignment" else "dlg", len(requests))
            if kind == "assignment":
                result = self._post_assignments(session, requests, ids, now, actor)
            else:
                result = self._post_delegations(session, requests, ids, now, actor)
            self._record(session, kind, requests, result, actor, source)
        return result

    def _post_assignments(
        self,
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
        found = store.spans_near(session, "assignment", windows, now)
        if not found and not overlapping:
            return _create_all(session, requests, ids, now, actor)
        keys = _keys(requests)
        # 2. Re-posts: the stored grant with the same key, where the post's numbers start.
        stored = _restated(session, requests, keys, found, now) if found else {}
        result, changed = _match("assignment", requests, keys, ids, stored, now, actor)
        # 3. The one-holder rule, within the post (if any of its numbers overlap) and against
        # what is stored.
        candidates = _candidates(requests, result, changed, now)
        conflicts = find_within(candidates) if overlapping else []
        conflicts += conflicts_with(candidates, found)
        if conflicts:
            raise conflict_error(conflicts, {i: r.label for i, r in enumerate(requests)})
        # 4. New grants with their spans; restated grants changed in place.
        rows = _new_assignments(requests, _created(result), ids, keys, now)
        store.add_assignments(session, rows, len(rows), now, actor)
        if changed:
            changes = [(old, result.grants[i]) for i, old in changed.items()]
            store.change_grants(session, "assignment", changes)
        return result

    def _post_delegations(
        self,
        session: Session,
        requests: Sequence[GrantRequest],
        ids: Sequence[str],
        now: dt.datetime,
        actor: str,
    ) -> PostResult:
        keys = _keys(requests)
        claims = [
            (key, r.intervals[0]) for key, r in zip(keys, requests, strict=True) if r.intervals
        ]
        existing = {
            grant.scope_key: grant
            for grant in store.grants_by_scope_key(session, "delegation", claims, now)
            if grant.expires_at > now
        }
        stored = {i: existing[key] for i, key in enumerate(keys) if key in existing}
        result, changed = _match("delegation", requests, keys, ids, stored, now, actor)
        self._check_delegations(session, requests, result, changed, now)
        self._write(session, "delegation", requests, result, changed, now)
        return result

    # -- validation -------------------------------------------------------------------------

    def _check_parties(
        self,
        session: Session,
        kind: str,
        requests: Sequence[GrantRequest],
        acting: Organization | None,
    ) -> None:
        """Each party exists and is of the right kind; the acting organization may post. The
        first request (in order) that breaks a rule is named."""
        pairs = dict.fromkeys((r.grantor_id, r.holder_id) for r in requests)
        orgs = store.organizations(session, {org_id for pair in pairs for org_id in pair})
        for grantor_id, holder_id in pairs:
            problem = _party_problem(kind, grantor_id, holder_id, orgs, acting)
            if problem is not None:
                first = next(
                    r for r in requests if (r.grantor_id, r.holder_id) == (grantor_id, holder_id)
                )
                error_kind, detail, field = problem
                raise CAError(error_kind, f"{first.label}{detail}", field=field)

    def _check_delegations(
        self,
        session: Session,
        requests: Sequence[GrantRequest],
        result: PostResult,
        changed: dict[int, Grant],
        now: dt.datetime,
    ) -> None:
        for index in [*_created(result), *changed]:
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
        changed: dict[int, Grant],
        now: dt.datetime,
    ) -> None:
        fresh = _created(result)
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


def _match(
    kind: str,
    requests: Sequence[GrantRequest],
    keys: Sequence[str],
    ids: Sequence[str],
    stored: dict[int, Grant],
    now: dt.datetime,
    actor: str,
) -> tuple[PostResult, dict[int, Grant]]:
    """Each request's outcome: a new grant, or the stored grant with the same key restated
    (``stored`` by request index). Returns the result and the stored grants that change."""
    outcomes: list[str] = []
    restated: dict[int, Grant] = {}
    changed: dict[int, Grant] = {}
    seen: dict[str, int] = {}
    for index, key in enumerate(keys):
        first = seen.setdefault(key, index)
        if first != index:
            request = requests[index]
            raise CAError(
                ErrorKind.CONFLICT,
                f"{request.label}the same numbers for the same parties are posted twice "
                f"(also {requests[first].label or f'request {first}'})".replace(": )", ")"),
                field="tns",
            )
        grant = stored.get(index)
        if grant is None:
            outcomes.append("created")
            continue
        updated = _changed_grant(grant, requests[index], now)
        restated[index] = updated
        if updated == grant:
            outcomes.append("unchanged")
        else:
            changed[index] = grant
            outcomes.append("changed")
    grants = PostedGrants(kind, requests, keys, ids, now, actor, restated)
    return PostResult(grants, outcomes), changed


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
    store.add_assignments(session, rows, len(requests), now, actor)
    grants = PostedGrants("assignment", requests, keys, ids, now, actor, {})
    return PostResult(grants, ["created"] * len(requests), digest.hexdigest())


def _creating(
    requests: Sequence[GrantRequest],
    ids: Sequence[str],
    now: dt.datetime,
    keys: list[str],
    digest: Any,
) -> Iterator[store.NewAssignment]:
    """The rows of new assignments, one a request; fills ``keys`` and feeds the audit
    ``digest`` (the lines of ``PostedGrants.digest_lines``) on the way."""
    iso = _Iso()
    lines: list[str] = []
    for index, (grantor, holder, intervals, expires_at, valid_from, evidence, _) in enumerate(
        requests
    ):
        text = _numbers_text(intervals, ";")
        keys.append(scope_key_of(grantor, holder, text))
        start = valid_from or now
        if len(intervals) > 1:
            text = _numbers_text(intervals, ",")
        lines.append(
            _audit_line(ids[index], grantor, holder, text, iso[start], iso[expires_at], evidence)
        )
        if len(lines) == 10_000:
            digest.update("".join(lines).encode())
            lines.clear()
        yield store.NewAssignment(
            ids[index],
            grantor,
            holder,
            keys[index],
            start,
            max(start, now),
            expires_at,
            evidence,
            spans_of(intervals),
        )
    digest.update("".join(lines).encode())


def _keys(requests: Sequence[GrantRequest]) -> list[str]:
    return [scope_key(r.grantor_id, r.holder_id, r.intervals) for r in requests]


def _audit_line(
    grant_id: str,
    grantor: str,
    holder: str,
    numbers: str,
    valid_from: str,
    expires_at: str,
    evidence: str,
) -> str:
    return f"{grant_id}|{grantor}|{holder}|{numbers}|{valid_from}|{expires_at}|{evidence}\n"


def _numbers_text(intervals: Sequence[Triple], separator: str) -> str:
    if len(intervals) == 1:
        n, lo, hi = intervals[0]
        return f"{n}:{lo}-{hi}"
    return separator.join(f"{n}:{lo}-{hi}" for n, lo, hi in intervals)


def _digest(lines: Iterator[str]) -> str:
    digest = hashlib.sha256()
    while chunk := "".join(itertools.islice(lines, 10_000)):
        digest.update(chunk.encode())
    return digest.hexdigest()


def _created(result: PostResult) -> list[int]:
    return [i for i, outcome in enumerate(result.outcomes) if outcome == "created"]


def _candidates(
    requests: Sequence[GrantRequest],
    result: PostResult,
    changed: dict[int, Grant],
    now: dt.datetime,
) -> list[Candidate]:
    """The spans that new and changed assignments would hold, for the one-holder rule."""
    candidates = []
    for index in [*_created(result), *changed]:
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
        for g in store.grants_by_id(
            session, "assignment", {i for ids in maybe.values() for i in ids}
        )
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
) -> list[store.NewAssignment]:
    """The rows of the assignments these requests create."""
    rows = []
    for index in indexes:
        grantor, holder, intervals, expires_at, valid_from, evidence, _ = requests[index]
        start = valid_from or now
        rows.append(
            store.NewAssignment(
                ids[index],
                grantor,
                holder,
                keys[index],
                start,
                max(start, now),
                expires_at,
                evidence,
                spans_of(intervals),
            )
        )
    return rows


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


def _check_periods(requests: Sequence[GrantRequest], now: dt.datetime) -> None:
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


def _new_ids(prefix: str, count: int) -> list[str]:
    """Ids for the grants of one post, like ``sortable_id``: the millisecond, then 48 bits that
    start at a random value and count up, so a post's ids sort in request order and its index
    inserts append."""
    millisecond = time.time_ns() // 1_000_000
    first = secrets.randbits(48)
    return [
        f"{prefix}-{millisecond:011x}{(first + i) & 0xFFFF_FFFF_FFFF:012x}" for i in range(count)
    ]


class _Iso(dict[dt.datetime, str]):
    """ISO-8601 text of datetimes, each formatted once: a bulk post repeats a few moments."""

    def __missing__(self, key: dt.datetime) -> str:
        text = key.isoformat()
        self[key] = text
        return text


ChangeHook = Callable[[Sequence[str]], object]
