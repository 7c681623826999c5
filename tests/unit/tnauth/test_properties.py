"""Property tests: the set algebra agrees with plain sets; the codec round-trips and never crashes."""

from __future__ import annotations

import contextlib
import random

from asn1crypto import core as asn1crypto_core
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ca.errors import CAError
from ca.tnauth import (
    LenientDecode,
    TelephoneNumber,
    TNAuthList,
    TNRange,
    asn1,
    decode_lenient,
    decode_strict,
    encode,
)
from ca.tnauth.der import integer as der_integer

from .strategies import SMALL_LENGTHS, Model, model_of, number_text, small_numbers, tn_auth_lists
from .vectors import KNOWN_ANSWERS

# -- set algebra against plain Python sets --------------------------------------------------------


@given(tn_auth_lists(), st.lists(small_numbers(), max_size=20))
def test_covers_agrees_with_the_set_of_numbers(tn_auth_list: TNAuthList, probes: list) -> None:
    model = model_of(tn_auth_list)
    for length, value in list(model.numbers)[:50]:
        assert tn_auth_list.covers(number_text(length, value))
    for probe in probes:
        expected = (len(probe.value), int(probe.value)) in model.numbers
        assert tn_auth_list.covers(probe) is expected
        assert tn_auth_list.covers(probe.value) is expected
    for literal in model.literals:
        if isinstance(literal, TelephoneNumber):
            assert tn_auth_list.covers(literal)


@given(tn_auth_lists(), tn_auth_lists())
def test_encompasses_agrees_with_subset(parent: TNAuthList, child: TNAuthList) -> None:
    p, c = model_of(parent), model_of(child)
    expected = c.numbers <= p.numbers and c.literals <= p.literals and c.spcs <= p.spcs
    assert parent.encompasses(child) is expected
    assert parent.encompasses(parent)
    assert (parent | child).encompasses(child)
    assert parent.encompasses(parent & child)


def _combine(a: Model, b: Model, op: str) -> Model:
    pick = {
        "|": lambda x, y: x | y,
        "&": lambda x, y: x & y,
        "-": lambda x, y: x - y,
    }[op]
    return Model(pick(a.numbers, b.numbers), pick(a.literals, b.literals), pick(a.spcs, b.spcs))


@given(tn_auth_lists(), tn_auth_lists())
def test_union_intersection_difference_agree_with_sets(a: TNAuthList, b: TNAuthList) -> None:
    ma, mb = model_of(a), model_of(b)
    for op, result in (("|", a | b), ("&", a & b), ("-", a - b)):
        assert model_of(result) == _combine(ma, mb, op)
        assert result.canonical().entries == result.entries  # results come back canonical
    assert a.union(b) == a | b
    assert a.intersection(b) == a & b
    assert a.difference(b) == a - b


@given(tn_auth_lists())
def test_number_count_and_intervals_match_the_model(tn_auth_list: TNAuthList) -> None:
    model = model_of(tn_auth_list)
    literal_size = sum(e.count if isinstance(e, TNRange) else 1 for e in model.literals)
    assert tn_auth_list.number_count == len(model.numbers) + literal_size
    from_intervals = {
        (length, value)
        for length, lo, hi in tn_auth_list.intervals()
        for value in range(lo, hi + 1)
    }
    assert from_intervals == model.numbers
    rebuilt = TNAuthList.from_intervals(tn_auth_list.intervals(), spcs=tn_auth_list.spcs)
    assert model_of(rebuilt) == Model(model.numbers, frozenset(), model.spcs)


# -- canonical form -------------------------------------------------------------------------------


@given(tn_auth_lists())
def test_canonical_keeps_the_scope_and_is_idempotent(tn_auth_list: TNAuthList) -> None:
    canonical = tn_auth_list.canonical()
    assert model_of(canonical) == model_of(tn_auth_list)
    assert canonical == tn_auth_list
    assert hash(canonical) == hash(tn_auth_list)
    again = TNAuthList(canonical.entries).canonical()
    assert again.entries == canonical.entries
    # The canonical form is what Delegato issues, so every range meets the strict formula.
    assert all(e.within_strict_bound for e in canonical.entries if isinstance(e, TNRange))


@given(tn_auth_lists())
def test_canonical_order(tn_auth_list: TNAuthList) -> None:
    entries = tn_auth_list.canonical().entries
    kinds = [0 if isinstance(e, str) else 2 if e.is_literal else 1 for e in entries]
    assert kinds == sorted(kinds)
    numeric = [e for e in entries if not isinstance(e, str) and not e.is_literal]
    starts = [e.start if isinstance(e, TNRange) else e.value for e in numeric]
    keys = [(len(s), int(s)) for s in starts]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


@st.composite
def one_scope_two_ways(draw: st.DrawFn) -> tuple[list, list]:
    """The same numbers written as shuffled singles and as a random mix of ranges and singles."""
    length = draw(SMALL_LENGTHS)
    values = sorted(set(draw(st.lists(st.integers(0, 10**length - 1), min_size=1, max_size=60))))
    singles: list = [TelephoneNumber(number_text(length, v)) for v in values]
    draw(st.randoms()).shuffle(singles)
    blocks: list = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1 and draw(st.booleans()):
            j += 1
        if j == i:
            blocks.append(TelephoneNumber(number_text(length, values[i])))
        else:
            blocks.append(TNRange(number_text(length, values[i]), j - i + 1, strict=False))
        i = j + 1
    draw(st.randoms()).shuffle(blocks)
    return singles, blocks


@given(one_scope_two_ways(), st.lists(st.sampled_from(["1234", "ABCD"]), max_size=3))
def test_equal_scopes_give_equal_canonical_der(ways: tuple[list, list], spcs: list[str]) -> None:
    singles, blocks = ways
    first = TNAuthList([*spcs, *singles]).canonical().to_der()
    second = TNAuthList([*blocks, *reversed(spcs)]).canonical().to_der()
    assert first == second


# -- codec ----------------------------------------------------------------------------------------


@given(tn_auth_lists(min_size=1))
def test_decode_encode_round_trip_keeps_entries(tn_auth_list: TNAuthList) -> None:
    der = encode(tn_auth_list)
    decoded = decode_strict(der)
    assert decoded.entries == tn_auth_list.entries
    assert decoded == tn_auth_list
    # Clean DER reads leniently without warnings, bar ranges that only meet the prose bound.
    lenient = decode_lenient(der)
    assert lenient.tn_auth_list is not None
    assert lenient.tn_auth_list.entries == tn_auth_list.entries
    assert all("all-nines" in warning for warning in lenient.warnings)


@given(tn_auth_lists())
def test_json_round_trip(tn_auth_list: TNAuthList) -> None:
    assert TNAuthList.from_json(tn_auth_list.to_json(), strict=False).entries == (
        tn_auth_list.entries
    )


def _never_crashes(data: bytes) -> None:
    """Any exception but CAError fails the test; CAError is the documented answer to bad bytes."""
    with contextlib.suppress(CAError):
        decode_strict(data)
    with contextlib.suppress(CAError):
        assert isinstance(decode_lenient(data), LenientDecode)


@settings(max_examples=300)
@given(st.binary(max_size=80))
@example(bytes.fromhex("3002a001"))  # an entry header at the very end once indexed past the data
def test_arbitrary_bytes_raise_only_caerror(data: bytes) -> None:
    _never_crashes(data)


TAGS = [0x30, 0xA0, 0xA1, 0xA2, 0xA3, 0x80, 0x82, 0x16, 0x13, 0x0C, 0x02, 0x04, 0x05, 0x36]


def _header(tag: int, length: int, form: str) -> bytes:
    if form == "long" or length > 0x7F:
        return bytes([tag, 0x82]) + length.to_bytes(2, "big")
    if form == "indefinite":
        return bytes([tag, 0x80])
    return bytes([tag, length])


@st.composite
def tlv_soup(draw: st.DrawFn, depth: int = 3) -> bytes:
    """Nearly-TNAuthList byte trees: real tags, nesting, lengths sometimes off by a little."""
    tag = draw(st.sampled_from(TAGS))
    if depth and tag & 0x20 and draw(st.booleans()):
        content = b"".join(draw(st.lists(tlv_soup(depth - 1), max_size=3)))
    elif tag == 0x02:
        content = draw(st.binary(min_size=0, max_size=3))
    else:
        content = draw(st.text(alphabet="0123456789*#AZ:/-x", max_size=16)).encode()
    length = max(0, len(content) + draw(st.sampled_from([0, 0, 0, 0, -1, 1, -2, 2])))
    form = draw(st.sampled_from(["short", "short", "short", "long", "indefinite"]))
    return _header(tag, length, form) + content


@settings(max_examples=500)
@given(tlv_soup(), st.booleans())
def test_tlv_soup_raises_only_caerror(data: bytes, wrap: bool) -> None:
    if wrap:
        data = _header(0x30, len(data), "short") + data
    _never_crashes(data)


@given(st.binary(max_size=40).map(lambda tail: b"\x30" + bytes([len(tail)]) + tail))
def test_arbitrary_sequences_raise_only_caerror(data: bytes) -> None:
    _never_crashes(data)


@st.composite
def mutated_encodings(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        der = bytearray(encode(draw(tn_auth_lists(min_size=1, max_size=4))))
    else:
        der = bytearray.fromhex(draw(st.sampled_from([v[2] for v in KNOWN_ANSWERS])))
    rng: random.Random = draw(st.randoms())
    for _ in range(draw(st.integers(1, 4))):
        where = rng.randrange(len(der) + 1)
        action = rng.choice(["set", "insert", "delete", "truncate"])
        if action == "set" and where < len(der):
            der[where] = rng.randrange(256)
        elif action == "insert":
            der.insert(where, rng.randrange(256))
        elif action == "delete" and where < len(der):
            del der[where]
        elif action == "truncate":
            del der[where:]
    return bytes(der)


@settings(max_examples=300)
@given(mutated_encodings())
def test_mutated_encodings_raise_only_caerror(data: bytes) -> None:
    _never_crashes(data)


def _asn1crypto_der(tn_auth_list: TNAuthList) -> bytes:
    """The same list through asn1crypto's encoder (ca.tnauth.asn1), the reference for encode()."""
    items = []
    for entry in tn_auth_list.entries:
        if isinstance(entry, TNRange):
            value = {"start": entry.start, "count": entry.count}
            items.append(asn1.TNEntry(name="range", value=value))
        elif isinstance(entry, TelephoneNumber):
            items.append(asn1.TNEntry(name="one", value=entry.value))
        else:
            items.append(asn1.TNEntry(name="spc", value=entry))
    return bytes(asn1.TNAuthorizationList(items).dump())


@given(tn_auth_lists(min_size=1, max_size=40))
def test_the_direct_encoder_agrees_with_asn1crypto(tn_auth_list: TNAuthList) -> None:
    assert encode(tn_auth_list) == _asn1crypto_der(tn_auth_list)


def test_long_lengths_and_wide_counts_agree_with_asn1crypto() -> None:
    counts = [2, 127, 128, 255, 256, 65_535, 65_536, 10**9]
    ranges = [TNRange(f"1202555{n:04d}", count) for n, count in enumerate(counts)]
    many = TNAuthList([*ranges, *(TelephoneNumber(f"1303555{n:04d}") for n in range(300))])
    der = encode(many)
    assert der[1] == 0x82  # a list this long needs a two-octet length
    assert der == _asn1crypto_der(many)


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_der_integer_is_minimal_twos_complement(value: int) -> None:
    assert der_integer(value) == asn1crypto_core.Integer(value).dump()
