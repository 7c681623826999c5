"""authorize(holder, scope, at): which assignment or delegation covers each part of a scope.

ATIS-1000089 §5 (central TN database) and use case 8: an enterprise is authorized for the numbers
its current assignments name; a BPO for the numbers its current delegations name *and* its
delegating enterprise still holds. The answer is evidence, or an error naming exactly what is not
covered. A certificate's notAfter never passes the earliest expiry of the evidence it rests on.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ca.errors import CAError, ErrorKind, SubProblem
from ca.registry.numbers import Piece, Triple, best_cover, windows
from ca.storage import Transaction
from ca.storage import registry as store
from ca.storage.records import Organization, Span
from ca.tnauth import TNAuthList

_SHOWN = 10  # sub-problems named in the one-line detail; all of them are in ``subproblems``


@dataclass(frozen=True)
class Cover:
    """One covering right: an assignment, or a delegation resting on an assignment."""

    assignment: Span
    delegation: Span | None = None

    @property
    def until(self) -> dt.datetime:
        if self.delegation is None:
            return self.assignment.active_until
        return min(self.assignment.active_until, self.delegation.active_until)


@dataclass(frozen=True)
class EvidenceItem:
    """A part of the scope and the grant(s) that authorize it, with the moment it ends."""

    numbers: TNAuthList
    assignment_id: str
    enterprise_id: str
    delegation_id: str | None
    until: dt.datetime

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "assignment": self.assignment_id,
            "enterprise": self.enterprise_id,
            "until": self.until.isoformat(),
            "numbers": self.numbers.to_json(),
        }
        if self.delegation_id is not None:
            data["delegation"] = self.delegation_id
        return data


@dataclass(frozen=True)
class Authorization:
    """The registry's answer: the scope is authorized at ``at`` on this evidence until ``until``."""

    holder_id: str
    at: dt.datetime
    scope: TNAuthList
    evidence: tuple[EvidenceItem, ...]

    @property
    def until(self) -> dt.datetime:
        return min(item.until for item in self.evidence)

    def to_json(self) -> dict[str, Any]:
        return {
            "holder": self.holder_id,
            "at": self.at.isoformat(),
            "until": self.until.isoformat(),
            "evidence": [item.to_json() for item in self.evidence],
        }


def covers_at(
    session: Transaction, holder: Organization, scope_windows: Sequence[Triple] | None, at: dt.datetime
) -> list[tuple[Triple, Cover]]:
    """Every right of ``holder`` at ``at`` over the windows (all its numbers when None)."""
    query_windows = None if scope_windows is None else windows(scope_windows)
    if holder.kind == "enterprise":
        spans = _spans(session, "assignment", query_windows, at, holder.id)
        return [((s.length, s.lo, s.hi), Cover(s)) for s in spans]
    if holder.kind != "bpo":
        return []
    delegated = _spans(session, "delegation", query_windows, at, holder.id)
    if not delegated:
        return []
    enterprises = sorted({span.enterprise_id for span in delegated})
    held = store.spans_at(
        session,
        "assignment",
        query_windows or windows((s.length, s.lo, s.hi) for s in delegated),
        at,
        enterprise_ids=enterprises,
    )
    return _intersect(delegated, held)


def _spans(
    session: Transaction, kind: str, query_windows: list[Triple] | None, at: dt.datetime, holder: str
) -> list[Span]:
    if query_windows is None:
        return store.holder_spans_at(session, kind, holder, at)
    return store.spans_at(session, kind, query_windows, at, holder_ids=[holder])


def _intersect(delegated: list[Span], held: list[Span]) -> list[tuple[Triple, Cover]]:
    """Pairs (delegation, assignment of the same enterprise) and the numbers both name."""
    by_enterprise: dict[tuple[str, int], list[Span]] = {}
    for span in sorted(held, key=lambda s: s.lo):
        by_enterprise.setdefault((span.enterprise_id, span.length), []).append(span)
    out: list[tuple[Triple, Cover]] = []
    for d in delegated:
        lane = by_enterprise.get((d.enterprise_id, d.length), [])
        # Spans never exceed one block, so any overlap starts within a block below d.lo.
        first = bisect_right([s.lo for s in lane], d.lo - store.SPAN_BLOCK)
        for a in lane[first:]:
            if a.lo > d.hi:
                break
            lo, hi = max(a.lo, d.lo), min(a.hi, d.hi)
            if lo <= hi:
                out.append(((d.length, lo, hi), Cover(a, d)))
    return out


def authorize(
    session: Transaction, holder: Organization, scope: TNAuthList, at: dt.datetime
) -> Authorization:
    """The evidence for every number of ``scope``, or TN_NOT_AUTHORIZED naming what is not covered."""
    wanted = list(scope.intervals())
    candidates = covers_at(session, holder, wanted, at) if wanted else []
    pieces, gaps = best_cover(wanted, candidates, rank=lambda cover: cover.until)
    uncovered = TNAuthList.from_intervals(gaps) if gaps else None
    # Numbers with '*' or '#' are matched literally by TNAuthList and never registered.
    literals = scope.number_count - sum(hi - lo + 1 for _, lo, hi in wanted)
    if uncovered is not None or literals:
        raise not_authorized(holder, uncovered, at, literal_count=literals)
    return Authorization(holder.id, at, scope, _evidence(pieces))


def _evidence(pieces: list[Piece[Cover]]) -> tuple[EvidenceItem, ...]:
    grouped: dict[tuple[str, str | None], list[Piece[Cover]]] = {}
    for piece in pieces:
        cover = piece.by
        key = (cover.assignment.grant_id, cover.delegation.grant_id if cover.delegation else None)
        grouped.setdefault(key, []).append(piece)
    items = []
    for (assignment_id, delegation_id), group in grouped.items():
        items.append(
            EvidenceItem(
                numbers=TNAuthList.from_intervals((p.length, p.lo, p.hi) for p in group),
                assignment_id=assignment_id,
                enterprise_id=group[0].by.assignment.enterprise_id,
                delegation_id=delegation_id,
                until=min(p.by.until for p in group),
            )
        )
    return tuple(sorted(items, key=lambda item: (item.assignment_id, item.delegation_id or "")))


def not_authorized(
    holder: Organization, uncovered: TNAuthList | None, at: dt.datetime, literal_count: int = 0
) -> CAError:
    values = uncovered.describe() if uncovered else []
    if literal_count:
        values.append("numbers with '*' or '#' (the registry never authorizes them)")
    shown = ", ".join(values[:_SHOWN]) + (
        f" and {len(values) - _SHOWN} more" if len(values) > _SHOWN else ""
    )
    return CAError(
        ErrorKind.TN_NOT_AUTHORIZED,
        f"the TN registry does not authorize {holder.kind} {holder.id} at {at.isoformat()} for: "
        f"{shown}",
        field="tns",
        subproblems=[SubProblem("not authorized by the TN registry", "tns", v) for v in values],
    )


def authorize_all(session: Transaction, holder: Organization, at: dt.datetime) -> Authorization:
    """The evidence for every number the holder may use at ``at`` (a request that names none),
    from one look at its rights; TN_NOT_AUTHORIZED when it may use none."""
    covers = covers_at(session, holder, None, at)
    if not covers:
        raise CAError(
            ErrorKind.TN_NOT_AUTHORIZED,
            f"the TN registry authorizes no numbers for {holder.kind} {holder.id} now",
            field="tns",
        )
    scope = TNAuthList.from_intervals(triple for triple, _ in covers)
    pieces, _gaps = best_cover(list(scope.intervals()), covers, rank=lambda cover: cover.until)
    return Authorization(holder.id, at, scope, _evidence(pieces))


def authorized_scope(session: Transaction, holder: Organization, at: dt.datetime) -> TNAuthList | None:
    """Every number the holder may use at ``at`` (a request that names none asks for these)."""
    covers = covers_at(session, holder, None, at)
    if not covers:
        return None
    return TNAuthList.from_intervals(triple for triple, _ in covers)
