"""Sets of telephone numbers as merged intervals of per-length keys (RFC 8226 §9, RFC 9060 §4).

Numbers of different lengths never cover each other, so every number is keyed by its length and
value together: ``key = length << 50 | value``. Each length then owns a band of the key space
(10^15 < 2^50, so bands never touch), and one sorted list of disjoint, non-adjacent ``(lo, hi)``
key intervals holds every length at once — per-length lanes in a single pair of parallel lists
that ``bisect`` searches as plain ints. Nothing below knows about ASN.1 or SPCs.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from itertools import compress, islice
from operator import sub

SHIFT = 50
MASK = (1 << SHIFT) - 1


def key(length: int, value: int) -> int:
    """The key of the ``length``-digit number ``value``."""
    return length << SHIFT | value


def _runs(keys: list[int]) -> tuple[list[int], list[int]]:
    """Merge sorted single keys into runs of consecutive values, using C-level loops only.

    This is the hot path when indexing a million numbers: a Python loop here costs more than
    the sort before it.
    """
    if not keys:
        return [], []
    # A new run starts wherever the gap to the previous key exceeds 1 (duplicates gap 0).
    gaps = list(map((1).__lt__, map(sub, islice(keys, 1, None), keys)))
    if all(gaps):
        # No two numbers touch: every number is its own run. The lists are never mutated.
        return keys, keys
    return list(compress(keys, [True, *gaps])), list(compress(keys, [*gaps, True]))


def _merge(pairs: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Sort and merge overlapping or adjacent intervals into parallel start/end lists."""
    if not pairs:
        return [], []
    pairs.sort()
    starts: list[int] = []
    ends: list[int] = []
    cur_lo, cur_hi = pairs[0]
    for lo, hi in pairs:
        # Adjacent intervals merge too (hi + 1 == lo): a canonical scope has one way to say it.
        if lo <= cur_hi + 1:
            if hi > cur_hi:
                cur_hi = hi
        else:
            starts.append(cur_lo)
            ends.append(cur_hi)
            cur_lo, cur_hi = lo, hi
    starts.append(cur_lo)
    ends.append(cur_hi)
    return starts, ends


class NumberSet:
    """An immutable set of numbers of 1-15 digits, stored as merged key intervals."""

    __slots__ = ("_ends", "_hash", "_starts")

    def __init__(self, starts: list[int], ends: list[int]) -> None:
        # Callers hand over intervals already sorted and merged; use the builders otherwise.
        self._starts = starts
        self._ends = ends
        self._hash: int | None = None

    @classmethod
    def build(cls, sorted_keys: list[int], spans: list[tuple[int, int]]) -> NumberSet:
        """From sorted single-number keys (repeats allowed) and ``(lo, hi)`` key spans."""
        starts, ends = _runs(sorted_keys)
        if spans:
            starts, ends = _merge([*zip(starts, ends, strict=True), *spans])
        return cls(starts, ends)

    @classmethod
    def from_triples(cls, triples: Iterable[tuple[int, int, int]]) -> NumberSet:
        """From valid ``(length, lo, hi)`` triples."""
        return cls(*_merge([(key(n, lo), key(n, hi)) for n, lo, hi in triples]))

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        """Yield ``(length, lo, hi)`` by ascending length, then value."""
        for lo, hi in zip(self._starts, self._ends, strict=True):
            yield lo >> SHIFT, lo & MASK, hi & MASK

    def __bool__(self) -> bool:
        return bool(self._starts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NumberSet):
            return NotImplemented
        return self._starts == other._starts and self._ends == other._ends

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((tuple(self._starts), tuple(self._ends)))
        return self._hash

    def count(self) -> int:
        """How many distinct numbers the set holds."""
        return sum(self._ends) - sum(self._starts) + len(self._starts)

    def contains(self, number_key: int) -> bool:
        """True when the number with this key is in the set: one bisect."""
        k = bisect_right(self._starts, number_key) - 1
        return k >= 0 and self._ends[k] >= number_key

    def issuperset(self, other: NumberSet) -> bool:
        """True when every number of ``other`` is in this set (RFC 9060 §4 encompassing)."""
        starts, ends = self._starts, self._ends
        # Our intervals are merged, so a child interval is covered by the union of our entries
        # exactly when one merged interval contains it; lengths live in separate key bands.
        for lo, hi in zip(other._starts, other._ends, strict=True):
            k = bisect_right(starts, lo) - 1
            if k < 0 or ends[k] < hi:
                return False
        return True

    def union(self, other: NumberSet) -> NumberSet:
        mine = zip(self._starts, self._ends, strict=True)
        theirs = zip(other._starts, other._ends, strict=True)
        return NumberSet(*_merge([*mine, *theirs]))

    def intersection(self, other: NumberSet) -> NumberSet:
        """Two-pointer walk; pieces come from distinct merged intervals, so they never touch."""
        a_starts, a_ends, b_starts, b_ends = self._starts, self._ends, other._starts, other._ends
        starts: list[int] = []
        ends: list[int] = []
        i = j = 0
        while i < len(a_starts) and j < len(b_starts):
            lo = max(a_starts[i], b_starts[j])
            hi = min(a_ends[i], b_ends[j])
            if lo <= hi:
                starts.append(lo)
                ends.append(hi)
            if a_ends[i] < b_ends[j]:
                i += 1
            else:
                j += 1
        return NumberSet(starts, ends)

    def difference(self, other: NumberSet) -> NumberSet:
        """Remove other's intervals; the gaps between them keep the remaining pieces apart."""
        b_starts, b_ends = other._starts, other._ends
        starts: list[int] = []
        ends: list[int] = []
        j = 0
        for lo, hi in zip(self._starts, self._ends, strict=True):
            # Skip intervals of other wholly before this one; they cannot touch later ones either.
            while j < len(b_starts) and b_ends[j] < lo:
                j += 1
            k = j
            cur = lo
            while k < len(b_starts) and b_starts[k] <= hi:
                if b_starts[k] > cur:
                    starts.append(cur)
                    ends.append(b_starts[k] - 1)
                cur = max(cur, b_ends[k] + 1)
                k += 1
            if cur <= hi:
                starts.append(cur)
                ends.append(hi)
        return NumberSet(starts, ends)
