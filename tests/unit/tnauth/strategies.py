"""Hypothesis strategies and a plain-set model of TNAuthList scopes, shared by the tnauth tests."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from ca.tnauth import TelephoneNumber, TNAuthList, TNRange

# Small universes (2-4 digits) so that plain Python sets can enumerate every covered number.
SMALL_LENGTHS = st.integers(min_value=2, max_value=4)
SPCS = st.sampled_from(["1234", "ABCD", "9Z9Z", "bogus", "0A1B"])
LITERALS = st.sampled_from(["*67", "#31#", "1*2", "12#"])


@st.composite
def small_numbers(draw: st.DrawFn) -> TelephoneNumber:
    length = draw(SMALL_LENGTHS)
    return TelephoneNumber(str(draw(st.integers(0, 10**length - 1))).zfill(length))


@st.composite
def small_ranges(draw: st.DrawFn, strict: bool = False) -> TNRange:
    """A numeric range; with ``strict=False`` it may end at the all-nines number (prose bound)."""
    length = draw(SMALL_LENGTHS)
    top = 10**length - (1 if strict else 0)  # one past the last allowed number
    start = draw(st.integers(0, top - 2))
    count = draw(st.integers(2, min(top - start, 40)))
    return TNRange(str(start).zfill(length), count, strict=strict)


@st.composite
def literal_entries(draw: st.DrawFn) -> TelephoneNumber | TNRange:
    text = draw(LITERALS)
    if draw(st.booleans()):
        return TelephoneNumber(text)
    return TNRange(text, draw(st.integers(2, 5)))


ENTRIES = st.one_of(
    small_numbers(), small_ranges(), SPCS, literal_entries(), small_ranges(strict=True)
)


@st.composite
def tn_auth_lists(draw: st.DrawFn, min_size: int = 0, max_size: int = 12) -> TNAuthList:
    return TNAuthList(draw(st.lists(ENTRIES, min_size=min_size, max_size=max_size)))


@dataclass(frozen=True)
class Model:
    """What a TNAuthList means, as plain sets: numbers as (length, value), literals, SPCs."""

    numbers: frozenset[tuple[int, int]]
    literals: frozenset[TelephoneNumber | TNRange]
    spcs: frozenset[str]


def model_of(tn_auth_list: TNAuthList) -> Model:
    numbers: set[tuple[int, int]] = set()
    literals: set[TelephoneNumber | TNRange] = set()
    spcs: set[str] = set()
    for entry in tn_auth_list.entries:
        if isinstance(entry, str):
            spcs.add(entry)
        elif entry.is_literal:
            literals.add(entry)
        elif isinstance(entry, TNRange):
            start = int(entry.start)
            numbers.update((len(entry.start), start + i) for i in range(entry.count))
        else:
            numbers.add((len(entry.value), int(entry.value)))
    return Model(frozenset(numbers), frozenset(literals), frozenset(spcs))


def number_text(length: int, value: int) -> str:
    return str(value).zfill(length)
