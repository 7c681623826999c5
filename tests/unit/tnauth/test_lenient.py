"""The lenient decoder: each encoding met in the wild is recovered with a warning (STANDARDS §1)."""

from __future__ import annotations

import pytest

from ca.errors import CAError
from ca.tnauth import LenientDecode, TelephoneNumber, TNAuthList, TNRange, decode_lenient

from .builders import ia5, integer, one, spc, tlv, tn_list, tn_range
from .vectors import KNOWN_ANSWERS


def recovered(der: bytes, *expected_warnings: str) -> TNAuthList | None:
    """Decode leniently and check that every expected warning text appears in some warning."""
    result = decode_lenient(der)
    assert isinstance(result, LenientDecode)
    for text in expected_warnings:
        assert any(text in warning for warning in result.warnings), (text, result.warnings)
    return result.tn_auth_list


@pytest.mark.parametrize(("entries", "der_hex"), [c[1:] for c in KNOWN_ANSWERS])
def test_clean_der_gives_no_warnings(entries: list[object], der_hex: str) -> None:
    result = decode_lenient(bytes.fromhex(der_hex))
    assert result.warnings == []
    assert result.tn_auth_list is not None
    assert result.tn_auth_list.entries == tuple(entries)


def test_untagged_printable_string_spc() -> None:
    # Six production certificates: 30 06 13 04 <4 chars>.
    tn_auth_list = recovered(
        bytes.fromhex("300613043735354a"),
        "not RFC 8226 DER: entry 0 at byte 2: untagged PrintableString",
        "an untagged PrintableString (0x13) read as an SPC",
    )
    assert tn_auth_list == TNAuthList(["755J"])


@pytest.mark.parametrize("tag", [0x16, 0x0C])
def test_untagged_ia5_and_utf8_spc(tag: int) -> None:
    tn_auth_list = recovered(tn_list(tlv(tag, b"1234")), "read as an SPC")
    assert tn_auth_list == TNAuthList(["1234"])


def test_ia5_string_without_its_length_byte() -> None:
    # Six production certificates: 30 08 a0 06 16 <4 chars>; every length counts the lost byte.
    tn_auth_list = recovered(
        bytes.fromhex("3008a006163535384a"),
        "the list's length overruns the data by 1 byte(s)",
        "entry 0 at byte 2: the IA5String (0x16) lacks its length byte",
    )
    assert tn_auth_list is not None
    assert tn_auth_list.entries == ("558J",)


@pytest.mark.parametrize(
    ("tag", "content", "expected"),
    [(0x80, b"1234", "1234"), (0x82, b"12025550100", TelephoneNumber("12025550100"))],
)
def test_implicit_style_entries(tag: int, content: bytes, expected: object) -> None:
    tn_auth_list = recovered(tn_list(tlv(tag, content)), "IMPLICIT-style")
    assert tn_auth_list is not None
    assert tn_auth_list.entries == (expected,)


def test_implicit_content_under_a_constructed_tag() -> None:
    tn_auth_list = recovered(tn_list(tlv(0xA0, b"1234")), "holds raw characters")
    assert tn_auth_list == TNAuthList(["1234"])


def test_url_in_place_of_a_list() -> None:
    result = decode_lenient(ia5("https://sti.example.net/tnlist"))
    assert result.tn_auth_list is None
    assert any("in place of the list (a URL?): no entries" in w for w in result.warnings)


def test_empty_list() -> None:
    result = decode_lenient(tn_list())
    assert result.tn_auth_list is None
    assert "the list is empty" in result.warnings


def test_range_sequence_holding_several_pairs() -> None:
    inner = ia5("12025550000") + integer(100) + ia5("12025550500") + integer(50)
    tn_auth_list = recovered(
        tn_list(tlv(0xA1, tlv(0x30, inner))), "one range SEQUENCE holds 2 start/count pairs; split"
    )
    assert tn_auth_list is not None
    assert tn_auth_list.entries == (TNRange("12025550000", 100), TNRange("12025550500", 50))


def test_range_pairs_followed_by_an_addition() -> None:
    inner = ia5("100") + integer(5) + ia5("200") + integer(5) + tlv(0x05, b"")
    tn_auth_list = recovered(tn_list(tlv(0xA1, tlv(0x30, inner))), "holds 2 start/count pairs")
    assert tn_auth_list == TNAuthList([TNRange("100", 5), TNRange("200", 5)])


def test_prose_bound_range_is_read_with_a_warning() -> None:
    tn_auth_list = recovered(tn_list(tn_range("10", 90)), "reaches the all-nines number")
    assert tn_auth_list is not None
    assert tn_auth_list.number_count == 90


def test_range_that_grows_is_cut_to_its_length() -> None:
    tn_auth_list = recovered(tn_list(spc("1234"), tn_range("10", 95)), "grows in length; cut to 90")
    assert tn_auth_list == TNAuthList(["1234", TNRange("10", 90, strict=False)])


def test_range_count_one_is_a_single_number() -> None:
    tn_auth_list = recovered(tn_list(tn_range("100", 1)), "has count 1; read as a single number")
    assert tn_auth_list == TNAuthList([TelephoneNumber("100")])


def test_printable_string_inside_the_tag() -> None:
    tn_auth_list = recovered(tn_list(tlv(0xA0, tlv(0x13, b"1234"))), "where RFC 8226 requires")
    assert tn_auth_list == TNAuthList(["1234"])


def test_unknown_entries_are_skipped_and_the_rest_kept() -> None:
    der = tn_list(tlv(0xA5, b""), one("12025550100"), one("12x"), tlv(0x05, b""))
    result = decode_lenient(der)
    assert result.tn_auth_list == TNAuthList([TelephoneNumber("12025550100")])
    assert any("skipped [5] constructed" in w for w in result.warnings)
    assert any("skipped: '12x' contains 'x'" in w for w in result.warnings)
    assert any("skipped NULL" in w for w in result.warnings)


def test_trailing_bytes_after_the_list_are_ignored() -> None:
    tn_auth_list = recovered(tn_list(spc("1234")) + b"\0\0", "ignored 2 trailing byte(s)")
    assert tn_auth_list == TNAuthList(["1234"])


def test_non_minimal_length_is_read_with_a_warning() -> None:
    tn_auth_list = recovered(bytes.fromhex("308108") + spc("1234"), "not minimally encoded")
    assert tn_auth_list == TNAuthList(["1234"])


@pytest.mark.parametrize(
    "der",
    [b"", b"\x02\x01\x05", tn_list(tlv(0x05, b"")), b"\x30\x80", tn_list(one("12x"))],
    ids=["empty", "integer", "only-junk", "indefinite", "bad-number"],
)
def test_nothing_recoverable_raises(der: bytes) -> None:
    with pytest.raises(CAError, match="nothing recoverable") as caught:
        decode_lenient(der)
    assert caught.value.field == "TNAuthList"
