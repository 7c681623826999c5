"""The registry's number arithmetic: toll-free classification, spans, windows, best cover."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ca.errors import CAError, ErrorKind
from ca.registry.numbers import (
    MAX_NUMBERS_PER_GRANT,
    TOLL_FREE_NPAS,
    Piece,
    best_cover,
    is_toll_free,
    registry_intervals,
    spans_of,
    windows,
)
from ca.storage.registry import SPAN_BLOCK
from ca.tnauth import TNAuthList

Triple = tuple[int, int, int]

# --- is_toll_free ----------------------------------------------------------------------------


@pytest.mark.parametrize("npa", [800, 833, 844, 855, 866, 877, 888])
def test_every_nanp_toll_free_npa_is_toll_free(npa):
    lo = int(f"1{npa}0000000")
    assert is_toll_free(11, lo, lo)
    assert is_toll_free(11, lo, lo + 9_999_999)  # the whole NPA
    assert is_toll_free(11, int(f"1{npa}5550100"), int(f"1{npa}5550199"))


def test_the_seven_npas_are_exactly_the_nanp_toll_free_codes():
    assert sorted(TOLL_FREE_NPAS) == [800, 833, 844, 855, 866, 877, 888]


@pytest.mark.parametrize(
    ("length", "lo", "hi"),
    [
        (11, 12025550100, 12025550100),  # geographic
        (11, 18225550100, 18225550100),  # 822 is reserved, not (yet) toll-free
        (11, 18995550100, 18995550100),
        (10, 8005550100, 8005550100),  # ten digits: not an E.164 NANP number
        (10, 8885550100, 8885550199),
        (4, 1822, 1822),
        (4, 1800, 1800),
        (12, 180055501000, 180055501000),
        (11, 28005550100, 28005550100),  # country code 2, not NANP
        (11, 18009999990, 18010000009),  # runs from 800 into 801
        (11, 18779999990, 18880000009),  # from one toll-free NPA to another, across 878..887
        (11, 17999999999, 18000000000),  # from 799 into 800
    ],
)
def test_not_toll_free(length, lo, hi):
    assert not is_toll_free(length, lo, hi)


# --- spans_of ---------------------------------------------------------------------------------


def _numbers(intervals) -> set[tuple[int, int]]:
    return {(n, v) for n, lo, hi in intervals for v in range(lo, hi + 1)}


_BASES = st.sampled_from([(4, 0), (11, 18005550000), (11, 12025550000), (11, 18009995000)])


@st.composite
def _intervals(draw: st.DrawFn) -> list[Triple]:
    out = []
    for _ in range(draw(st.integers(0, 4))):
        length, base = draw(_BASES)
        lo = base + draw(st.integers(0, 4000))
        hi = min(lo + draw(st.integers(0, 3500)), 10**length - 1)
        out.append((length, lo, hi))
    return out


@given(_intervals())
def test_spans_never_cross_a_block_and_keep_every_number(intervals):
    spans = spans_of(intervals)
    for length, lo, hi, shared in spans:
        assert lo <= hi
        assert lo // SPAN_BLOCK == hi // SPAN_BLOCK, (lo, hi)
        assert shared == is_toll_free(length, lo, hi)
    assert _numbers(s[:3] for s in spans) == _numbers(intervals)
    assert sum(hi - lo + 1 for _, lo, hi, _ in spans) == sum(hi - lo + 1 for _, lo, hi in intervals)


def test_spans_split_a_range_at_every_block_and_at_the_npa_boundary():
    spans = spans_of([(11, 18009999500, 18010000499)])
    assert spans == [
        (11, 18009999500, 18009999999, True),  # 800: toll-free
        (11, 18010000000, 18010000499, False),  # 801: geographic
    ]
    assert spans_of([(11, 12025550999, 12025552000)]) == [
        (11, 12025550999, 12025550999, False),
        (11, 12025551000, 12025551999, False),
        (11, 12025552000, 12025552000, False),
    ]


# --- windows ----------------------------------------------------------------------------------


@given(_intervals())
def test_windows_cover_every_interval_and_never_mix_lengths(intervals):
    found = windows(intervals)
    assert found == sorted(found)
    for length, lo, hi in intervals:
        assert any(n == length and w_lo <= lo and hi <= w_hi for n, w_lo, w_hi in found)
    for (n1, _, hi1), (n2, lo2, _) in itertools.pairwise(found):
        assert n1 != n2 or lo2 > hi1  # disjoint, in order


def test_windows_join_near_neighbours_only():
    near = [(11, 12025550000, 12025550009), (11, 12025555000, 12025555009)]
    assert windows(near) == [(11, 12025550000, 12025555009)]
    far = [(11, 12025550000, 12025550009), (11, 12025590000, 12025590009)]
    assert windows(far) == far
    lengths = [(10, 2025550000, 2025550009), (11, 2025550010, 2025550019)]
    assert windows(reversed(lengths)) == lengths
    assert windows([]) == []


# --- registry_intervals -------------------------------------------------------------------------


def test_registry_intervals_merges_numbers_and_ranges():
    scope = TNAuthList.from_user(tns=["12025550100", "12025550101"], ranges=["12025550102:8"])
    assert registry_intervals(scope) == ((11, 12025550100, 12025550109),)
    big = TNAuthList.from_user(ranges=["10000000000:10000000"])
    assert registry_intervals(big) == ((11, 10000000000, 10000000000 + MAX_NUMBERS_PER_GRANT - 1),)


@pytest.mark.parametrize(
    ("scope", "says"),
    [
        (TNAuthList.from_user(spcs=["1234"]), "not SPCs"),
        (TNAuthList.from_user(tns=["12025550100"], spcs=["1234"]), "not SPCs"),
        (TNAuthList.from_user(tns=["1202555*100"]), "'*' or '#'"),
        (TNAuthList.from_user(tns=["12025550100", "#31#"]), "'*' or '#'"),
        (TNAuthList.from_user(ranges=["1202555*100:10"]), "'*' or '#'"),
        (TNAuthList.from_intervals([]), "at least one"),
        (
            TNAuthList.from_user(ranges=["10000000000:9000000", "20000000000:1000001"]),
            "at most 10,000,000",
        ),
    ],
)
def test_registry_intervals_refuses(scope, says):
    with pytest.raises(CAError) as raised:
        registry_intervals(scope, "numbers")
    assert raised.value.kind is ErrorKind.MALFORMED
    assert raised.value.field == "numbers"
    assert says in raised.value.detail


# --- best_cover ---------------------------------------------------------------------------------


class _Item:
    """A candidate's payload: compared by identity, like the grants best_cover is given."""

    def __init__(self, name: str, rank: int) -> None:
        self.name, self.rank = name, rank

    def __repr__(self) -> str:
        return f"{self.name}/{self.rank}"


_LENGTHS = (2, 3)


@st.composite
def _small(draw: st.DrawFn) -> Triple:
    length = draw(st.sampled_from(_LENGTHS))
    lo = draw(st.integers(0, 40))
    return length, lo, lo + draw(st.integers(0, 12))


@st.composite
def _cover_case(draw: st.DrawFn) -> tuple[list[Triple], list[tuple[Triple, _Item]]]:
    items = [_Item(f"g{i}", draw(st.integers(0, 3))) for i in range(draw(st.integers(1, 5)))]
    scope = draw(st.lists(_small(), max_size=4))
    candidates = draw(st.lists(st.tuples(_small(), st.sampled_from(items)), max_size=8))
    return scope, candidates


@given(_cover_case())
def test_best_cover_matches_a_number_by_number_model(case):
    scope, candidates = case
    pieces, gaps = best_cover(scope, candidates, lambda item: item.rank)
    wanted = _numbers(scope)
    held = _numbers(triple for triple, _ in candidates)

    covered: dict[tuple[int, int], _Item] = {}
    for piece in pieces:
        assert isinstance(piece, Piece) and piece.lo <= piece.hi
        for v in range(piece.lo, piece.hi + 1):
            assert (piece.length, v) not in covered, "pieces overlap"
            covered[(piece.length, v)] = piece.by
    assert set(covered) == wanted & held
    assert _numbers(gaps) == wanted - held
    assert sum(hi - lo + 1 for _, lo, hi in gaps) == len(wanted - held)  # gaps are disjoint

    for (length, v), chosen in covered.items():
        containing = [it for (n, lo, hi), it in candidates if n == length and lo <= v <= hi]
        assert any(it is chosen for it in containing), "chosen candidate does not contain it"
        assert chosen.rank == max(it.rank for it in containing)

    # Merged: no two touching pieces share a candidate, no two gaps touch; both come in order.
    for a, b in itertools.pairwise(pieces):
        assert (a.length, a.hi) < (b.length, b.lo)
        assert not (a.length == b.length and a.hi + 1 == b.lo and a.by is b.by)
    for a, b in itertools.pairwise(gaps):
        assert (a[0], a[2]) < (b[0], b[1])
        assert not (a[0] == b[0] and a[2] + 1 == b[1])


def test_best_cover_prefers_the_higher_rank_and_merges_one_grant_across_spans():
    low, high = _Item("low", 1), _Item("high", 2)
    candidates = [
        ((11, 100, 199), low),
        ((11, 200, 299), low),  # the same grant's next span
        ((11, 150, 249), high),
    ]
    pieces, gaps = best_cover([(11, 90, 309)], candidates, lambda item: item.rank)
    assert [(p.lo, p.hi, p.by) for p in pieces] == [
        (100, 149, low),
        (150, 249, high),
        (250, 299, low),
    ]
    assert gaps == [(11, 90, 99), (11, 300, 309)]
    pieces, gaps = best_cover([(11, 100, 299)], candidates[:2], lambda item: item.rank)
    assert [(p.lo, p.hi, p.by) for p in pieces] == [(100, 299, low)]
    assert gaps == []


def test_best_cover_of_nothing():
    assert best_cover([], [((11, 1, 5), _Item("a", 0))], lambda item: item.rank) == ([], [])
    assert best_cover([(11, 1, 5)], [], lambda item: item.rank) == ([], [(11, 1, 5)])
