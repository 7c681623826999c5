"""Number arithmetic of the registry: toll-free classification, spans, query windows, best cover.

Everything here works on ``(length, lo, hi)`` triples of plain ints; nothing touches storage.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from ca.errors import malformed
from ca.storage.registry import SPAN_BLOCK
from ca.tnauth import TNAuthList
from ca.tnauth.intervals import MASK, SHIFT

Triple = tuple[int, int, int]
T = TypeVar("T")

#: NANP toll-free NPAs (ATIS-1000089 use case 4; STANDARDS.md §9): a toll-free number may be
#: assigned to several enterprises at once, a geographic number to one.
TOLL_FREE_NPAS = (800, 833, 844, 855, 866, 877, 888)
_NPA_SIZE = 10**7
#: One assignment or delegation names at most this many numbers (10,000 spans).
MAX_NUMBERS_PER_GRANT = 10_000_000
#: Scope intervals closer than this share one storage query.
_WINDOW_GAP = 10_000


def is_toll_free(length: int, lo: int, hi: int) -> bool:
    """True when every number of the interval is a NANP toll-free number (+1 8xx)."""
    if length != 11:
        return False
    npa = lo // _NPA_SIZE - 1000
    return npa in TOLL_FREE_NPAS and hi // _NPA_SIZE == lo // _NPA_SIZE


def spans_of(intervals: Iterable[Triple]) -> list[tuple[int, int, int, bool]]:
    """Split intervals at every SPAN_BLOCK boundary (and so at NPA boundaries): (n, lo, hi, shared)."""
    out: list[tuple[int, int, int, bool]] = []
    for length, lo, hi in intervals:
        if lo // SPAN_BLOCK == hi // SPAN_BLOCK:  # the common case: within one block
            out.append((length, lo, hi, is_toll_free(length, lo, hi)))
            continue
        start = lo
        while start <= hi:
            end = min(hi, (start // SPAN_BLOCK + 1) * SPAN_BLOCK - 1)
            out.append((length, start, end, is_toll_free(length, start, end)))
            start = end + 1
    return out


def registry_intervals(scope: TNAuthList, field: str = "tns") -> tuple[Triple, ...]:
    """The numbers of a scope as merged intervals; SPCs and ``*``/``#`` entries are refused."""
    if scope.spcs:
        raise malformed(field, "the registry records telephone numbers, not SPCs")
    intervals = tuple(scope.intervals())
    count = sum(hi - lo + 1 for _, lo, hi in intervals)
    if scope.number_count != count:  # checked first: a lone '*' entry is not "no numbers"
        raise malformed(field, "numbers with '*' or '#' cannot be assigned or delegated")
    if not intervals:
        raise malformed(field, "name at least one telephone number or range of digits")
    if count > MAX_NUMBERS_PER_GRANT:
        raise malformed(field, f"at most {MAX_NUMBERS_PER_GRANT:,} numbers in one grant")
    return intervals


def scope_key(grantor: str, holder: str, intervals: Sequence[Triple]) -> str:
    """Names a grant's parties and numbers: re-posting the same grant finds the same key."""
    return scope_key_of(grantor, holder, ";".join(f"{n}:{lo}-{hi}" for n, lo, hi in intervals))


def scope_key_of(grantor: str, holder: str, numbers: str) -> str:
    """scope_key() from the numbers already written out (``n:lo-hi`` joined by ``;``)."""
    return hashlib.sha256(f"{grantor}|{holder}|{numbers}".encode()).hexdigest()[:32]


def windows(intervals: Iterable[Triple]) -> list[Triple]:
    """Group sorted intervals into few storage queries: neighbours of one length merge."""
    out: list[list[int]] = []
    for length, lo, hi in sorted(intervals):
        if out and out[-1][0] == length and lo - out[-1][2] <= _WINDOW_GAP:
            out[-1][2] = max(out[-1][2], hi)
        else:
            out.append([length, lo, hi])
    return [(n, lo, hi) for n, lo, hi in out]


def merged(intervals: Iterable[Triple]) -> tuple[list[Triple], bool]:
    """The intervals sorted and merged where they touch, and whether any two of them overlap.

    A file sorted by number is one pass (sorting sorted input is linear), and a run of adjacent
    rows becomes one window: one index range scan for the whole run.
    """
    out: list[list[int]] = []
    overlap = False
    for length, lo, hi in sorted(intervals):
        if out:
            last = out[-1]
            # A merged window is covered without a hole, so a start inside it is an overlap.
            if last[0] == length and lo <= last[2] + 1:
                overlap = overlap or lo <= last[2]
                last[2] = max(last[2], hi)
                continue
        out.append([length, lo, hi])
    return [(n, lo, hi) for n, lo, hi in out], overlap


def to_keys(length: int, lo: int, hi: int) -> tuple[int, int]:
    return length << SHIFT | lo, length << SHIFT | hi


def from_keys(lo: int, hi: int) -> Triple:
    return lo >> SHIFT, lo & MASK, hi & MASK


@dataclass(frozen=True)
class Piece(Generic[T]):
    """A part of the scope and the candidate chosen to cover it."""

    length: int
    lo: int
    hi: int
    by: T


def best_cover(
    scope: Iterable[Triple],
    candidates: Iterable[tuple[Triple, T]],
    rank: Callable[[T], object],
) -> tuple[list[Piece[T]], list[Triple]]:
    """Cover each part of ``scope`` by the best-ranked candidate that contains it.

    Returns the covered pieces (adjacent parts with the same candidate merged) and the parts no
    candidate covers. A sweep over the interval end points: O((n + m) log m).
    """
    scope_keys = sorted(to_keys(*triple) for triple in scope)
    items = [(to_keys(*triple), item) for triple, item in candidates]
    points = {p for lo, hi in scope_keys for p in (lo, hi + 1)}
    points.update(p for (lo, hi), _ in items for p in (lo, hi + 1))
    starts: dict[int, list[int]] = {}
    for index, ((lo, _hi), _item) in enumerate(items):
        starts.setdefault(lo, []).append(index)
    heap: list[tuple[object, int]] = []
    pieces: list[Piece[T]] = []
    gaps: list[Triple] = []
    ordered = sorted(points)
    s = 0
    for position, following in itertools.pairwise(ordered):
        for index in starts.get(position, ()):
            heapq.heappush(heap, (_Desc(rank(items[index][1])), index))
        while heap and items[heap[0][1]][0][1] < position:
            heapq.heappop(heap)
        while s < len(scope_keys) and scope_keys[s][1] < position:
            s += 1
        if s == len(scope_keys):
            break
        if scope_keys[s][0] > position:
            continue
        lo, hi = position, following - 1
        if heap:
            chosen = items[heap[0][1]][1]
            last = pieces[-1] if pieces else None
            if (
                last is not None
                and last.by is chosen
                and to_keys(last.length, last.lo, last.hi)[1] + 1 == lo
            ):
                pieces[-1] = Piece(last.length, last.lo, hi & MASK, chosen)
            else:
                pieces.append(Piece(*from_keys(lo, hi), chosen))
        elif gaps and to_keys(*gaps[-1])[1] + 1 == lo and gaps[-1][0] == lo >> SHIFT:
            gaps[-1] = (gaps[-1][0], gaps[-1][1], hi & MASK)
        else:
            gaps.append(from_keys(lo, hi))
    return pieces, gaps


class _Desc:
    """Reverses an ordering so that heapq (a min-heap) pops the best rank first."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return self.value > other.value  # type: ignore[operator]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)
