"""The one-holder rule: a geographic number has one enterprise at a time; a toll-free number may
have several, but never the same enterprise twice (ATIS-1000089 §5.2, STANDARDS.md §9)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ca.errors import CAError, ErrorKind, SubProblem
from ca.registry.numbers import merged
from ca.storage import Session
from ca.storage import registry as store
from ca.storage.records import Span
from ca.storage.registry_bulk import spans_near
from ca.tnauth import TNAuthList

_SHOWN = 5


class Candidate(NamedTuple):
    """A span that a post would create (within one block, as every span): whose, which
    numbers, for which period (a tuple: a bulk import makes one per span)."""

    request: int  # the index of the request it comes from
    enterprise_id: str
    length: int
    lo: int
    hi: int
    shared: bool
    start: dt.datetime
    end: dt.datetime
    replaces: str | None = None  # a grant being changed: its own spans are no conflict


@dataclass(frozen=True)
class Conflict:
    index: int
    numbers: tuple[int, int, int]
    holder_id: str
    grant_id: str | None  # None: another row of the same batch
    other_index: int | None = None
    until: dt.datetime | None = None

    def describe(self, labels: dict[int, str]) -> str:
        numbers = _numbers_text(self.numbers)
        if self.grant_id is None:
            other = (
                labels.get(self.other_index or 0, "").rstrip(": ") or f"request {self.other_index}"
            )
            return f"{numbers} are also posted for {self.holder_id} ({other})"
        return f"{numbers} are held by {self.holder_id} under assignment {self.grant_id}" + (
            f" until {self.until.isoformat()}" if self.until else ""
        )


def _numbers_text(triple: tuple[int, int, int]) -> str:
    return "numbers " + ", ".join(TNAuthList.from_intervals([triple]).describe())


def _clash(a_enterprise: str, a_shared: bool, b_enterprise: str, b_shared: bool) -> bool:
    return a_enterprise == b_enterprise or not (a_shared and b_shared)


def find_conflicts(session: Session, candidates: Sequence[Candidate]) -> list[Conflict]:
    """Every clash of the candidates with each other and with stored assignment spans."""
    if not candidates:
        return []
    windows, overlapping = merged((c.length, c.lo, c.hi) for c in candidates)
    start = min(c.start for c in candidates)
    stored = spans_near(session, "assignment", windows, start)
    return (find_within(candidates) if overlapping else []) + conflicts_with(candidates, stored)


def find_within(candidates: Sequence[Candidate]) -> list[Conflict]:
    """Clashes of the candidates with each other (rows of one batch)."""
    found: list[Conflict] = []
    open_: list[Candidate] = []
    for c in sorted(candidates, key=lambda c: (c.length, c.lo)):
        open_ = [o for o in open_ if o.length == c.length and o.hi >= c.lo]
        for o in open_:
            if (
                o.request != c.request
                and o.start < c.end
                and c.start < o.end
                and _clash(o.enterprise_id, o.shared, c.enterprise_id, c.shared)
            ):
                overlap = (c.length, max(o.lo, c.lo), min(o.hi, c.hi))
                first, second = sorted((o.request, c.request))
                holder = o.enterprise_id if o.request == first else c.enterprise_id
                found.append(Conflict(second, overlap, holder, None, other_index=first))
        open_.append(c)
    return found


def conflicts_with(candidates: Sequence[Candidate], stored: Sequence[Span]) -> list[Conflict]:
    """Clashes of the candidates with stored spans: one in force during the candidate's period,
    of another grant, sharing numbers that the rule does not let two holders share. Candidates
    and stored spans alike lie within one block, so only those of the same block can share."""
    by_block: dict[tuple[int, int], list[Span]] = {}
    for span in stored:
        by_block.setdefault((span.length, span.lo // store.SPAN_BLOCK), []).append(span)
    if not by_block:
        return []
    found = []
    for c in candidates:
        for span in by_block.get((c.length, c.lo // store.SPAN_BLOCK), ()):
            if (
                span.lo <= c.hi
                and span.hi >= c.lo
                and span.grant_id != c.replaces
                and span.active_from < c.end
                and span.active_until > c.start
                and _clash(span.enterprise_id, span.shared, c.enterprise_id, c.shared)
            ):
                overlap = (c.length, max(span.lo, c.lo), min(span.hi, c.hi))
                found.append(
                    Conflict(
                        c.request,
                        overlap,
                        span.enterprise_id,
                        span.grant_id,
                        until=span.active_until,
                    )
                )
    return found


def conflict_error(conflicts: Sequence[Conflict], describe_index: dict[int, str]) -> CAError:
    """One CONFLICT error naming each clash (and the request or CSV line it comes from)."""
    ordered = sorted(conflicts, key=lambda c: (c.index, c.numbers))
    texts = [f"{describe_index.get(c.index, '')}{c.describe(describe_index)}" for c in ordered]
    shown = "; ".join(texts[:_SHOWN]) + (
        f"; and {len(texts) - _SHOWN} more" if len(texts) > _SHOWN else ""
    )
    return CAError(
        ErrorKind.CONFLICT,
        "a geographic number has one holder at a time (toll-free numbers may have several "
        f"enterprises): {shown}",
        field="tns",
        subproblems=[
            SubProblem(text, "tns", c.grant_id or f"request {c.other_index}")
            for text, c in zip(texts, ordered, strict=True)
        ],
    )
