"""DER encoding and the strict decoder: known answers and one test per malformation (RFC 8226)."""

from __future__ import annotations

import pytest

from ca.errors import CAError, ErrorKind
from ca.tnauth import TelephoneNumber, TNAuthList, TNRange, decode_strict, encode

from .builders import ia5, integer, one, spc, tlv, tn_list, tn_range
from .vectors import KNOWN_ANSWERS

# -- known answers (STANDARDS.md §1) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "der_hex"), [c[1:] for c in KNOWN_ANSWERS], ids=[c[0] for c in KNOWN_ANSWERS]
)
def test_known_answer_encode(entries: list[object], der_hex: str) -> None:
    tn_auth_list = TNAuthList(entries)  # type: ignore[arg-type]
    assert encode(tn_auth_list).hex() == der_hex
    assert tn_auth_list.to_der().hex() == der_hex


@pytest.mark.parametrize(
    ("entries", "der_hex"), [c[1:] for c in KNOWN_ANSWERS], ids=[c[0] for c in KNOWN_ANSWERS]
)
def test_known_answer_decode(entries: list[object], der_hex: str) -> None:
    decoded = decode_strict(bytes.fromhex(der_hex))
    assert decoded.entries == tuple(entries)
    assert TNAuthList.from_der(bytes.fromhex(der_hex)) == decoded


def test_known_answers_are_already_canonical() -> None:
    for _, entries, der_hex in KNOWN_ANSWERS:
        assert TNAuthList(entries).canonical().to_der().hex() == der_hex  # type: ignore[arg-type]


def test_test_helpers_match_the_vectors() -> None:
    built = tn_list(spc("bogus"), tn_range("5715551212", 788), one("7035551212"))
    assert built.hex() == KNOWN_ANSWERS[4][2]


def test_accepts_bytearray_and_memoryview() -> None:
    der = tn_list(spc("1234"))
    assert decode_strict(bytearray(der)) == decode_strict(memoryview(der))


def test_range_extension_additions_are_tolerated() -> None:
    # TelephoneNumberRange ends with "..." (RFC 8226 Appendix A): later components are legal.
    der = tn_list(tn_range("12025550000", 10, tlv(0x05, b""), tlv(0x80, b"\x01")))
    assert decode_strict(der).entries == (TNRange("12025550000", 10),)


def test_lenient_bound_applies_when_reading() -> None:
    # 10..99 is allowed by RFC 8226's prose though not by its formula: others' certificates pass.
    decoded = decode_strict(tn_list(tn_range("10", 90)))
    assert decoded.entries == (TNRange("10", 90, strict=False),)


# -- strict decoder: one malformation each --------------------------------------------------------

URL = "https://sti.example.net/tnlist"

MALFORMED = [
    ("empty input", b"", "expected a TLV at byte 0, found the end"),
    ("not a SEQUENCE", tlv(0x31, spc("1234")), "not a SEQUENCE: found SET"),
    ("URL in place of the list", ia5(URL), "not a SEQUENCE: found IA5String.*a URL"),
    ("empty list", tn_list(), "empty TNAuthList"),
    (
        "unknown alternative",
        tn_list(tlv(0xA3, ia5("1234"))),
        "entry 0 at byte 2: unknown alternative \\[3\\]",
    ),
    (
        "untagged PrintableString SPC",
        bytes.fromhex("300613043735354a"),
        "entry 0 at byte 2: untagged PrintableString",
    ),
    ("untagged IA5String", tn_list(ia5("1234")), "untagged IA5String"),
    (
        "IMPLICIT [0]",
        tn_list(tlv(0x80, b"1234")),
        "IMPLICIT tagging, \\[0\\] is primitive \\(0x80\\)",
    ),
    ("IMPLICIT [2]", tn_list(tlv(0x82, b"12025550100")), "IMPLICIT tagging, \\[2\\] is primitive"),
    (
        "IMPLICIT content, constructed tag",
        tn_list(tlv(0xA0, b"1234")),
        "holds the characters b'1234'.*IMPLICIT",
    ),
    ("high tag number", tn_list(bytes.fromhex("bf2006") + ia5("1234")), "high-tag-number form"),
    (
        "indefinite length",
        bytes.fromhex("3080") + spc("1234") + b"\0\0",
        "indefinite length at byte 1",
    ),
    (
        "non-minimal long form",
        bytes.fromhex("308108") + spc("1234"),
        "non-minimal length encoding at byte 1",
    ),
    (
        "long form with a leading zero",
        bytes.fromhex("30820008") + spc("1234"),
        "non-minimal length",
    ),
    ("five length octets", bytes.fromhex("3085") + bytes(5), "length of 5 octets"),
    ("length cut off", bytes.fromhex("3082"), "length at byte 1 is cut off"),
    ("no length", b"\x30", "has no length"),
    (
        "list overruns",
        bytes.fromhex("3009") + spc("1234"),
        "SEQUENCE \\(0x30\\) at byte 0 claims 9 bytes but only 8 remain",
    ),
    (
        "missing IA5 length byte",
        bytes.fromhex("3008a006163535384a"),
        "claims 8 bytes but only 7 remain",
    ),
    (
        "entry overruns the list",
        tn_list(bytes.fromhex("a007") + ia5("1234")),
        "entry 0.*claims 7 bytes but only 6 remain",
    ),
    (
        "string overruns its entry",
        tn_list(bytes.fromhex("a006160531323334")),
        "IA5String \\(0x16\\) at byte 4 claims 5 bytes",
    ),
    (
        "trailing bytes after the list",
        tn_list(spc("1234")) + b"\x00",
        "1 trailing byte\\(s\\) after the list at byte 10",
    ),
    (
        "trailing bytes inside an entry",
        tn_list(tlv(0xA0, ia5("1234") + tlv(0x05, b""))),
        "2 trailing byte\\(s\\) inside the spc entry",
    ),
    ("empty [0]", tn_list(tlv(0xA0, b"")), "entry 0 at byte 2: \\[0\\] spc is empty"),
    (
        "second entry bad",
        tn_list(spc("1234"), tlv(0xA4, b"")),
        "entry 1 at byte 10: unknown alternative \\[4\\]",
    ),
    ("count 1", tn_list(tn_range("12025550000", 1)), "count 1 is below 2"),
    ("count 0", tn_list(tn_range("12025550000", 0)), "count 0 is not a positive INTEGER"),
    ("count negative", tn_list(tn_range("12025550000", -5)), "count -5 is not a positive INTEGER"),
    (
        "count not an INTEGER",
        tn_list(tlv(0xA1, tlv(0x30, ia5("100") + tlv(0x04, b"\x05")))),
        "count must be an INTEGER, found OCTET STRING",
    ),
    (
        "non-minimal INTEGER",
        tn_list(tlv(0xA1, tlv(0x30, ia5("100") + bytes.fromhex("02020005")))),
        "INTEGER at byte \\d+ is not minimally encoded",
    ),
    (
        "non-minimal negative INTEGER",
        tn_list(tlv(0xA1, tlv(0x30, ia5("100") + bytes.fromhex("0202ff80")))),
        "not minimally encoded",
    ),
    (
        "empty INTEGER",
        tn_list(tlv(0xA1, tlv(0x30, ia5("100") + bytes.fromhex("0200")))),
        "has no content octets",
    ),
    (
        "range without count",
        tn_list(tlv(0xA1, tlv(0x30, ia5("100")))),
        "range SEQUENCE lacks its count",
    ),
    ("empty range", tn_list(tlv(0xA1, tlv(0x30, b""))), "lacks its start and count"),
    (
        "range not a SEQUENCE",
        tn_list(tlv(0xA1, ia5("100"))),
        "\\(range\\): expected a SEQUENCE, found IA5String",
    ),
    ("range grows in length", tn_list(tn_range("10", 91)), "would grow past 2 digits"),
    (
        "bad character in one",
        tn_list(one("12x")),
        "entry 0 at byte 2 \\(one\\): '12x' contains 'x' at position 3",
    ),
    ("bad character in range start", tn_list(tn_range("1-2", 5)), "contains '-' at position 2"),
    ("empty number", tn_list(one("")), "'' has no digits"),
    ("sixteen-digit number", tn_list(one("1" * 16)), "has 16 characters"),
    (
        "PrintableString number",
        tn_list(tlv(0xA2, tlv(0x13, b"123"))),
        "wrong string type PrintableString \\(0x13\\) at byte 4",
    ),
    ("UTF8String SPC", tn_list(tlv(0xA0, tlv(0x0C, b"1234"))), "wrong string type UTF8String"),
    (
        "INTEGER in place of a string",
        tn_list(tlv(0xA2, integer(5))),
        "expected a string, found INTEGER",
    ),
    (
        "constructed IA5String",
        tn_list(tlv(0xA0, tlv(0x36, ia5("1234")))),
        "constructed IA5String \\(0x16\\) is BER",
    ),
    ("non-ASCII SPC", tn_list(tlv(0xA0, tlv(0x16, b"12\xe94"))), "byte 0xe9 at 8 is not IA5"),
    ("control character in SPC", tn_list(spc("12\x004")), "contains '\\\\x00'"),
    ("empty SPC", tn_list(spc("")), "an SPC cannot be empty"),
    (
        "two start/count pairs in one range",
        tn_list(tn_range("100", 5, ia5("200"), integer(5))),
        "holds a second start/count pair at byte 14",
    ),
]


@pytest.mark.parametrize(
    ("der", "reason"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_strict_decoder_rejects(der: bytes, reason: str) -> None:
    with pytest.raises(CAError, match=reason) as caught:
        decode_strict(der)
    assert caught.value.kind is ErrorKind.MALFORMED
    assert caught.value.field == "TNAuthList"


@pytest.mark.parametrize("value", ["3008a006160431323334", None, 42, [0x30, 0x00]])
def test_strict_decoder_rejects_non_bytes(value: object) -> None:
    with pytest.raises(CAError, match="expected DER bytes"):
        decode_strict(value)  # type: ignore[arg-type]


def test_encode_entries_as_given_not_canonical() -> None:
    tn_auth_list = TNAuthList([TelephoneNumber("101"), TelephoneNumber("100")])
    assert encode(tn_auth_list) == tn_list(one("101"), one("100"))
    assert encode(tn_auth_list.canonical()) == tn_list(tn_range("100", 2))
