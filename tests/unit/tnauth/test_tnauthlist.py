"""TNAuthList as a value: construction, canonical form, user input, JSON, set algebra examples."""

from __future__ import annotations

import pytest

from ca.errors import CAError, ErrorKind
from ca.tnauth import Entry, TelephoneNumber, TNAuthList, TNRange

ONE = TelephoneNumber


def test_entries_keep_the_given_order() -> None:
    entries: list[Entry] = [ONE("12025550199"), "1234", TNRange("12025550100", 10)]
    tn_auth_list = TNAuthList(entries)
    assert tn_auth_list.entries == tuple(entries)
    assert list(tn_auth_list) == entries
    assert len(tn_auth_list) == 3


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ([12025550100], "entries\\[0\\]: not an SPC, number or range"),
        ([ONE("1"), b"1234"], "entries\\[1\\]: not an SPC, number or range"),
        (["1234", ""], "entries\\[1\\]: an SPC cannot be empty"),
        (["12\n34"], "contains '\\\\n'"),
        (["caf\u00e9"], "printable ASCII"),
    ],
)
def test_invalid_entries(entries: list[object], reason: str) -> None:
    with pytest.raises(CAError, match=reason) as caught:
        TNAuthList(entries)  # type: ignore[arg-type]
    assert caught.value.kind is ErrorKind.MALFORMED


def test_properties() -> None:
    tn_auth_list = TNAuthList(["1234", "ABCD", ONE("100"), TNRange("200", 5), ONE("*67")])
    assert tn_auth_list.spcs == frozenset({"1234", "ABCD"})
    assert tn_auth_list.has_numbers
    assert tn_auth_list.number_count == 7
    assert not TNAuthList(["1234"]).has_numbers
    assert TNAuthList([ONE("100"), ONE("100"), TNRange("100", 3)]).number_count == 3


def test_eq_is_semantic() -> None:
    split = TNAuthList([ONE("102"), TNRange("100", 2), "1234"])
    merged = TNAuthList(["1234", TNRange("100", 3)])
    assert split == merged
    assert hash(split) == hash(merged)
    assert split != TNAuthList(["1234", TNRange("100", 4)])
    assert split != TNAuthList([TNRange("100", 3)])  # the SPC matters
    assert split != "1234"


def test_numbers_of_different_lengths_differ() -> None:
    assert TNAuthList([ONE("0100")]) != TNAuthList([ONE("100")])


def test_hash_lets_lists_be_set_members() -> None:
    lists = {TNAuthList([ONE("1"), ONE("2")]), TNAuthList([TNRange("1", 2)]), TNAuthList([])}
    assert len(lists) == 2


def test_repr() -> None:
    tn_auth_list = TNAuthList(["1234", ONE("12025550100"), TNRange("12025550000", 100)])
    assert repr(tn_auth_list) == (
        "<TNAuthList([spc '1234', one 12025550100, range 12025550000+100])>"
    )
    many = TNAuthList([ONE(str(n)) for n in range(100, 110)])
    assert repr(many).endswith("one 105, ... 4 more])>")


# -- canonical form -------------------------------------------------------------------------------


def test_canonical_orders_spcs_then_numbers_by_length_then_literals() -> None:
    tn_auth_list = TNAuthList(
        [ONE("*67"), ONE("12025550101"), "ZZZZ", ONE("5551212"), "1234", ONE("12025550100")]
    )
    assert tn_auth_list.canonical().entries == (
        "1234",
        "ZZZZ",
        ONE("5551212"),
        TNRange("12025550100", 2),
        ONE("*67"),
    )


def test_canonical_merges_overlaps_and_adjacent_blocks() -> None:
    tn_auth_list = TNAuthList([TNRange("1000", 10), TNRange("1005", 10), ONE("1015"), ONE("1017")])
    assert tn_auth_list.canonical().entries == (TNRange("1000", 16), ONE("1017"))


def test_canonical_splits_at_the_all_nines_number() -> None:
    # RFC 8226's formula (start + count < 10^D) forbids a range that reaches 99.
    assert TNAuthList([TNRange("90", 10, strict=False)]).canonical().entries == (
        TNRange("90", 9),
        ONE("99"),
    )
    assert TNAuthList([ONE("98"), ONE("99")]).canonical().entries == (ONE("98"), ONE("99"))
    assert TNAuthList([TNRange("00", 100, strict=False)]).canonical().entries == (
        TNRange("00", 99),
        ONE("99"),
    )


def test_canonical_is_idempotent_and_cached() -> None:
    canonical = TNAuthList([ONE("2"), ONE("1")]).canonical()
    assert canonical.canonical() is canonical


def test_empty_list_is_a_value_but_not_encodable() -> None:
    empty = TNAuthList([])
    assert not empty
    assert empty.number_count == 0
    assert empty.canonical() == empty
    with pytest.raises(CAError, match=r"SIZE \(1\.\.MAX\)"):
        empty.to_der()


# -- intervals ------------------------------------------------------------------------------------


def test_intervals_are_merged_per_length() -> None:
    tn_auth_list = TNAuthList([TNRange("0100", 5), ONE("105"), ONE("0105"), "1234", ONE("1#")])
    assert list(tn_auth_list.intervals()) == [(3, 105, 105), (4, 100, 105)]


def test_from_intervals_gives_the_canonical_list() -> None:
    rebuilt = TNAuthList.from_intervals([(4, 100, 105), (3, 105, 105), (2, 90, 99)], spcs=["1234"])
    assert rebuilt.entries == (
        "1234",
        TNRange("90", 9),
        ONE("99"),
        ONE("105"),
        TNRange("0100", 6),
    )
    assert rebuilt.canonical() is rebuilt


@pytest.mark.parametrize(
    "triple", [(0, 1, 1), (16, 1, 1), (2, 5, 4), (2, -1, 3), (2, 0, 100), (2, "1", 3), (2, 3)]
)
def test_from_intervals_rejects_bad_triples(triple: tuple[object, ...]) -> None:
    with pytest.raises(CAError, match="intervals\\[0\\]"):
        TNAuthList.from_intervals([triple])  # type: ignore[list-item]


# -- user input and JSON --------------------------------------------------------------------------


def test_from_user() -> None:
    tn_auth_list = TNAuthList.from_user(
        tns=["+1 (202) 555-0100"],
        ranges=["12025550000:100", ("+1 202 555 0200", 50), "12025550300:1"],
        spcs=["567J"],
    )
    assert tn_auth_list.entries == (
        "567J",
        ONE("12025550100"),
        TNRange("12025550000", 100),
        TNRange("12025550200", 50),
        ONE("12025550300"),
    )


@pytest.mark.parametrize(
    ("kwargs", "field", "reason"),
    [
        ({"tns": ["12025550100", "1", "12x"]}, "tns[2]", "contains 'x' at position 3"),
        ({"ranges": ["12025550000"]}, "ranges[0]", "START:COUNT"),
        ({"ranges": ["12025550000:abc"]}, "ranges[0]", "not a whole number"),
        ({"ranges": ["12025550000:0"]}, "ranges[0]", "at least 1"),
        ({"ranges": ["12025550000:-3"]}, "ranges[0]", "not a whole number"),
        ({"ranges": [("1", 2, 3)]}, "ranges[0]", "neither START:COUNT"),
        ({"ranges": ["1x:5"]}, "ranges[0]", "contains 'x'"),
        ({"ranges": ["10:90"]}, "ranges[0]", "all-nines"),
        ({"ranges": ["10:91"]}, "ranges[0]", "grow past 2 digits"),
        ({"spcs": ["abcd"]}, "spcs[0]", "digits and uppercase letters"),
        ({"spcs": ["AB CD"]}, "spcs[0]", "digits and uppercase letters"),
        ({"tns": "12025550100"}, "tns", "expected a list"),
        ({}, "tn_auth_list", "at least one"),
    ],
)
def test_from_user_errors_name_the_field(
    kwargs: dict[str, object], field: str, reason: str
) -> None:
    with pytest.raises(CAError, match=reason) as caught:
        TNAuthList.from_user(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_json_round_trip_keeps_entries() -> None:
    tn_auth_list = TNAuthList(["1234", ONE("12025550100"), TNRange("12025550000", 100)])
    data = tn_auth_list.to_json()
    assert data == [
        {"spc": "1234"},
        {"one": "12025550100"},
        {"range": {"start": "12025550000", "count": 100}},
    ]
    assert TNAuthList.from_json(data).entries == tn_auth_list.entries


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ("x", "tn_auth_list", "expected a list"),
        ([{"one": "1", "spc": "2"}], "tn_auth_list[0]", "expected one of"),
        ([{"one": "12x"}], "tn_auth_list[0]", "contains 'x'"),
        ([{"range": {"start": "100", "count": "5"}}], "tn_auth_list[0]", "not an integer"),
        ([{"range": {"start": "10", "count": 90}}], "tn_auth_list[0]", "all-nines"),
        ([{"range": {"start": "100"}}], "tn_auth_list[0]", "unknown entry"),
        ([{"two": "1"}], "tn_auth_list[0]", "unknown entry"),
    ],
)
def test_from_json_errors(data: object, field: str, reason: str) -> None:
    with pytest.raises(CAError, match=reason) as caught:
        TNAuthList.from_json(data)
    assert caught.value.field == field


def test_from_json_lenient_bound_for_stored_foreign_lists() -> None:
    data = [{"range": {"start": "10", "count": 90}}]
    assert TNAuthList.from_json(data, strict=False).number_count == 90


# -- set algebra examples (the property tests compare with plain sets) ----------------------------


def test_covers() -> None:
    tn_auth_list = TNAuthList(["1234", TNRange("12025550000", 100), ONE("*67")])
    assert tn_auth_list.covers("12025550000")
    assert tn_auth_list.covers(ONE("12025550099"))
    assert not tn_auth_list.covers("12025550100")
    assert not tn_auth_list.covers("1202555000")  # a shorter number is never inside the range
    assert tn_auth_list.covers("*67")
    assert not tn_auth_list.covers("1234")  # an SPC covers no number here (verifier policy)


def test_covers_rejects_malformed_numbers() -> None:
    with pytest.raises(CAError, match="contains '-'"):
        TNAuthList([]).covers("202-555")


def test_literal_range_matches_only_itself() -> None:
    parent = TNAuthList([TNRange("12*", 5)])
    assert not parent.covers("12*")
    assert parent.encompasses(TNAuthList([TNRange("12*", 5)]))
    assert not parent.encompasses(TNAuthList([TNRange("12*", 4)]))


def test_encompasses_uses_the_union_of_parent_entries() -> None:
    parent = TNAuthList([TNRange("12025550000", 50), TNRange("12025550050", 50)])
    assert parent.encompasses(TNAuthList([TNRange("12025550040", 20)]))
    assert not parent.encompasses(TNAuthList([TNRange("12025550090", 20)]))


def test_encompasses_compares_spcs_as_strings() -> None:
    parent = TNAuthList(["1234", TNRange("100", 10)])
    assert parent.encompasses(TNAuthList(["1234"]))
    assert not parent.encompasses(TNAuthList(["5678"]))
    assert not TNAuthList(["1234"]).encompasses(TNAuthList([ONE("100")]))


def test_operators_return_canonical_lists() -> None:
    a = TNAuthList([TNRange("100", 10), "1234"])
    b = TNAuthList([TNRange("105", 10), "5678"])
    assert (a | b).entries == ("1234", "5678", TNRange("100", 15))
    assert (a & b).entries == (TNRange("105", 5),)
    assert (a - b).entries == ("1234", TNRange("100", 5))
    assert a.union(b) == a | b


def test_describe_gives_each_entry_as_people_type_it():
    scope = TNAuthList.from_user(spcs=["1234"], tns=["12025550100"], ranges=["12025550200:50"])
    assert scope.describe() == ["spc 1234", "12025550100", "12025550200:50"]
    assert TNAuthList.from_user(ranges=[scope.describe()[2]]) == TNAuthList.from_user(
        ranges=["12025550200:50"]
    )
