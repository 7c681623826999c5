"""A post of grants: the requests, the grant each makes, and what the post did with each.

Shared by the assignment path (``assignments``) and the rest of a post (``grants``): a re-post of
the same numbers for the same parties restates the stored grant (``match``), and each grant's line
of the audit digest is made the same way whichever path wrote it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, overload

from ca.errors import CAError, ErrorKind, malformed
from ca.registry.numbers import Triple, scope_key
from ca.storage.records import Grant


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
        iso = IsoTimes()
        for index in indexes:
            g = self[index]
            numbers = numbers_text(self._requests[index].intervals, ",")
            yield audit_line(
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

    def created(self) -> list[int]:
        """The indexes of the requests that make new grants."""
        return [i for i, outcome in enumerate(self.outcomes) if outcome == "created"]


def match(
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


def scope_keys(requests: Sequence[GrantRequest]) -> list[str]:
    """Each request's scope key: its parties and numbers (equal keys, the same grant)."""
    return [scope_key(r.grantor_id, r.holder_id, r.intervals) for r in requests]


def audit_line(
    grant_id: str,
    grantor: str,
    holder: str,
    numbers: str,
    valid_from: str,
    expires_at: str,
    evidence: str,
) -> str:
    """One grant's line of a post's audit digest."""
    return f"{grant_id}|{grantor}|{holder}|{numbers}|{valid_from}|{expires_at}|{evidence}\n"


def numbers_text(intervals: Sequence[Triple], separator: str) -> str:
    """The numbers as ``length:lo-hi`` text, for scope keys and the audit digest."""
    if len(intervals) == 1:
        n, lo, hi = intervals[0]
        return f"{n}:{lo}-{hi}"
    return separator.join(f"{n}:{lo}-{hi}" for n, lo, hi in intervals)


class IsoTimes(dict[dt.datetime, str]):
    """ISO-8601 text of datetimes, each formatted once: a bulk post repeats a few moments."""

    def __missing__(self, key: dt.datetime) -> str:
        text = key.isoformat()
        self[key] = text
        return text
