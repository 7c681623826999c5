"""normalize_tn, TelephoneNumber and TNRange (RFC 8226 §9)."""

from __future__ import annotations

import re

import pytest

from ca.errors import CAError, ErrorKind
from ca.tnauth import TelephoneNumber, TNRange, normalize_tn

# -- normalize_tn ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+1 (202) 555-0100", "12025550100"),
        ("1.202.555.0100", "12025550100"),
        ("12025550100", "12025550100"),
        ("*67", "*67"),
        ("#31#", "#31#"),
        ("1", "1"),
        ("123456789012345", "123456789012345"),
    ],
)
def test_normalize_tn_strips_separators(text: str, expected: str) -> None:
    assert normalize_tn(text) == expected


def test_normalize_tn_names_the_bad_character_and_its_position() -> None:
    with pytest.raises(CAError) as caught:
        normalize_tn("+1 (202) 555-01x0")
    error = caught.value
    assert error.kind is ErrorKind.MALFORMED
    assert error.field == "tn"
    assert str(error) == (
        "tn: '+1 (202) 555-01x0' contains 'x' at position 16; "
        "a telephone number is 1-15 of 0-9, *, #"
    )


@pytest.mark.parametrize(
    ("text", "bad", "position"),
    [
        ("12025550100a", "a", 12),
        ("x12025550100", "x", 1),
        ("1202/5550100", "/", 5),
        ("1202_555", "_", 5),
        ("1202\t555", "\t", 5),
        ("١٢٣", "١", 1),  # Arabic-Indic digits are digits to Python, not to RFC 8226
        ("1202,555", ",", 5),
    ],
)
def test_normalize_tn_rejects_each_bad_character(text: str, bad: str, position: int) -> None:
    with pytest.raises(CAError, match=re.escape(f"contains {bad!r} at position {position}")):
        normalize_tn(text, field="tns[3]")


def test_normalize_tn_uses_the_given_field() -> None:
    with pytest.raises(CAError) as caught:
        normalize_tn("12a", field="tns[2]")
    assert caught.value.field == "tns[2]"


@pytest.mark.parametrize("text", ["", "+", " ( ) - . "])
def test_normalize_tn_rejects_empty(text: str) -> None:
    with pytest.raises(CAError, match="has no digits"):
        normalize_tn(text)


def test_normalize_tn_rejects_sixteen_digits() -> None:
    with pytest.raises(CAError, match="has 16 characters once separators are removed"):
        normalize_tn("+1 234 567 890 123 456")


def test_normalize_tn_rejects_non_strings() -> None:
    with pytest.raises(CAError, match="expected a string, got int"):
        normalize_tn(12025550100)  # type: ignore[arg-type]


# -- TelephoneNumber ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "has no digits|has 0 characters"),
        ("1234567890123456", "has 16 characters"),
        ("+12025550100", r"contains '\+' at position 1"),
        ("1202 555", "contains ' ' at position 5"),
        (None, "expected a string, got NoneType"),
        (12025550100, "expected a string, got int"),
    ],
)
def test_telephone_number_invalid(value: object, reason: str) -> None:
    with pytest.raises(CAError, match=reason):
        TelephoneNumber(value)  # type: ignore[arg-type]


def test_telephone_number_properties() -> None:
    number = TelephoneNumber("12025550100")
    assert number.value == "12025550100"
    assert str(number) == "12025550100"
    assert not number.is_literal
    assert TelephoneNumber("*67").is_literal
    assert TelephoneNumber("12#").is_literal


def test_telephone_number_eq_ne_hash_repr() -> None:
    a, b, c = TelephoneNumber("12025550100"), TelephoneNumber("12025550100"), TelephoneNumber("1")
    assert a == b
    assert a != c
    assert a != "12025550100"  # a number is not its string
    assert hash(a) == hash(b)
    assert len({a, b, c}) == 2
    assert repr(a) == "<TelephoneNumber('12025550100')>"


def test_telephone_number_is_immutable() -> None:
    number = TelephoneNumber("1")
    with pytest.raises(AttributeError):
        number.value = "2"  # type: ignore[misc]


# -- TNRange --------------------------------------------------------------------------------------


def test_range_properties() -> None:
    tn_range = TNRange("12025550000", 100)
    assert tn_range.start == "12025550000"
    assert tn_range.count == 100
    assert tn_range.last == "12025550099"
    assert not tn_range.is_literal
    assert tn_range.within_strict_bound


def test_range_keeps_leading_zeros() -> None:
    assert TNRange("0010", 5).last == "0014"


def test_range_from_interval() -> None:
    assert TNRange.from_interval(4, 10, 19) == TNRange("0010", 10)
    with pytest.raises(CAError, match="not a range"):
        TNRange.from_interval(4, 10, 10)


@pytest.mark.parametrize(
    ("start", "count", "reason"),
    [
        ("12025550000", 1, "below 2"),
        ("12025550000", 0, "below 2"),
        ("12025550000", -5, "below 2"),
        ("12025550000", True, "expected an integer, got bool"),
        ("12025550000", "10", "expected an integer, got str"),
        ("12a", 10, "contains 'a' at position 3"),
        ("", 10, "has no digits|has 0 characters"),
    ],
)
def test_range_invalid(start: str, count: object, reason: str) -> None:
    with pytest.raises(CAError, match=reason):
        TNRange(start, count)  # type: ignore[arg-type]


def test_range_never_grows_in_length() -> None:
    # RFC 8226 §9: start 10 with count 91 would reach 100, a three-digit number.
    with pytest.raises(CAError, match="would grow past 2 digits"):
        TNRange("10", 91, strict=False)
    with pytest.raises(CAError, match="would grow past 2 digits"):
        TNRange("10", 91)


def test_range_strict_and_lenient_bounds_differ_by_one() -> None:
    # 10..99: allowed by RFC 8226's prose ("must not grow in length"), not by its formula.
    with pytest.raises(CAError, match="all-nines number 99"):
        TNRange("10", 90)
    lenient = TNRange("10", 90, strict=False)
    assert lenient.last == "99"
    assert not lenient.within_strict_bound
    assert TNRange("10", 89).within_strict_bound


def test_literal_range_has_no_numeric_bound() -> None:
    literal = TNRange("12*", 500)
    assert literal.is_literal
    assert literal.last is None
    assert literal.within_strict_bound


def test_range_accepts_a_telephone_number_start() -> None:
    assert TNRange(TelephoneNumber("100"), 5) == TNRange("100", 5)


def test_range_eq_ne_hash_repr() -> None:
    a, b = TNRange("100", 5), TNRange("100", 5)
    assert a == b
    assert a != TNRange("100", 6)
    assert a != TNRange("101", 5)
    assert a != TelephoneNumber("100")
    assert hash(a) == hash(b)
    # Strictness is how a range was checked, not part of what it says.
    assert TNRange("10", 89, strict=False) == TNRange("10", 89)
    assert repr(a) == "<TNRange(start='100', count=5)>"
