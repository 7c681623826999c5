"""A small DER reader that says exactly what is wrong and where (ITU-T X.690 §8, §10), and the
two writers the issuance path needs.

asn1crypto parses lazily and accepts BER, so it cannot tell a verifier *why* bytes are not DER.
This reader walks TLVs by hand: definite, minimal lengths; single-byte tags; primitive strings;
minimal INTEGERs. Every failure is a :class:`DERError` carrying the byte offset.

The writers (:func:`tlv`, :func:`integer`) produce definite, minimal lengths and minimal
INTEGERs; the test suite checks their output against asn1crypto's encoder.
"""

from __future__ import annotations

from typing import NamedTuple

SEQUENCE = 0x30
INTEGER = 0x02
IA5_STRING = 0x16
UTF8_STRING = 0x0C
PRINTABLE_STRING = 0x13

_UNIVERSAL_NAMES = {
    0x01: "BOOLEAN",
    0x02: "INTEGER",
    0x03: "BIT STRING",
    0x04: "OCTET STRING",
    0x05: "NULL",
    0x06: "OBJECT IDENTIFIER",
    0x0C: "UTF8String",
    0x13: "PrintableString",
    0x14: "TeletexString",
    0x16: "IA5String",
    0x1A: "VisibleString",
    0x1E: "BMPString",
    0x30: "SEQUENCE",
    0x31: "SET",
}
#: Universal string types met where an IA5String belongs.
STRING_TAGS = frozenset({0x0C, 0x13, 0x14, 0x16, 0x1A})


class DERError(Exception):
    """Bytes that are not the expected DER; ``offset`` is where the problem starts."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


class Header(NamedTuple):
    """One TLV: identifier octet, where it starts, where its contents start and end."""

    tag: int
    offset: int
    start: int
    end: int
    minimal: bool  # False when the length used more octets than DER allows


def describe(tag: int) -> str:
    """A readable name for an identifier octet, e.g. ``IA5String (0x16)`` or ``[0] (0xa0)``."""
    number = tag & 0x1F
    if tag & 0xC0 == 0x80:
        form = "constructed" if tag & 0x20 else "primitive"
        return f"[{number}] {form} (0x{tag:02x})"
    if tag & 0xC0 == 0:
        name = _UNIVERSAL_NAMES.get(tag) or _UNIVERSAL_NAMES.get(tag & 0xDF)
        if name:
            suffix = ", constructed" if tag & 0x20 and tag != SEQUENCE and tag != 0x31 else ""
            return f"{name} (0x{tag:02x}{suffix})"
    return f"tag 0x{tag:02x}"


def read_header(data: bytes, offset: int, limit: int, what: str) -> Header:
    """Read the tag and length at ``offset``; contents may still run past ``limit``."""
    if offset >= limit:
        raise DERError(offset, f"{what}: expected a TLV at byte {offset}, found the end")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DERError(offset, f"{what}: high-tag-number form (0x{tag:02x}) at byte {offset}")
    if offset + 1 >= limit:
        raise DERError(offset, f"{what}: {describe(tag)} at byte {offset} has no length")
    first = data[offset + 1]
    if first < 0x80:
        return Header(tag, offset, offset + 2, offset + 2 + first, True)
    if first == 0x80:
        raise DERError(offset + 1, f"{what}: indefinite length at byte {offset + 1} (BER, not DER)")
    octets = first & 0x7F
    if octets > 4 or first == 0xFF:
        raise DERError(offset + 1, f"{what}: length of {octets} octets at byte {offset + 1}")
    if offset + 2 + octets > limit:
        raise DERError(offset + 1, f"{what}: length at byte {offset + 1} is cut off")
    length = int.from_bytes(data[offset + 2 : offset + 2 + octets], "big")
    # DER: the long form only for lengths >= 128, and in as few octets as possible (X.690 §10.1).
    minimal = length >= 0x80 and data[offset + 2] != 0
    start = offset + 2 + octets
    return Header(tag, offset, start, start + length, minimal)


def read_tlv(data: bytes, offset: int, limit: int, what: str) -> Header:
    """Read one complete DER TLV that must end by ``limit``."""
    header = read_header(data, offset, limit, what)
    if not header.minimal:
        raise DERError(offset + 1, f"{what}: non-minimal length encoding at byte {offset + 1}")
    if header.end > limit:
        length = header.end - header.start
        raise DERError(
            offset,
            f"{what}: {describe(header.tag)} at byte {offset} claims {length} bytes "
            f"but only {limit - header.start} remain",
        )
    return header


def read_children(data: bytes, parent: Header, what: str) -> list[Header]:
    """The TLVs inside a constructed ``parent``, which must fill it exactly."""
    children = []
    position = parent.start
    while position < parent.end:
        child = read_tlv(data, position, parent.end, what)
        children.append(child)
        position = child.end
    return children


def read_integer(data: bytes, tlv: Header, what: str) -> int:
    """A DER INTEGER: present, two's complement, in the fewest octets (X.690 §8.3.2)."""
    if tlv.tag != INTEGER:
        raise DERError(tlv.offset, f"{what} must be an INTEGER, found {describe(tlv.tag)}")
    content = data[tlv.start : tlv.end]
    if not content:
        raise DERError(tlv.offset, f"{what}: INTEGER at byte {tlv.offset} has no content octets")
    if len(content) > 1 and (
        (content[0] == 0 and content[1] < 0x80) or (content[0] == 0xFF and content[1] >= 0x80)
    ):
        raise DERError(tlv.offset, f"{what}: INTEGER at byte {tlv.offset} is not minimally encoded")
    return int.from_bytes(content, "big", signed=True)


def read_string(data: bytes, tlv: Header, what: str, expected: int) -> str:
    """A primitive IA5String (ASCII) or UTF8String of exactly the ``expected`` type."""
    if tlv.tag == expected | 0x20:
        raise DERError(tlv.offset, f"{what}: constructed {describe(expected)} is BER, not DER")
    if tlv.tag != expected:
        kind = "wrong string type" if tlv.tag in STRING_TAGS else "expected a string, found"
        raise DERError(
            tlv.offset,
            f"{what}: {kind} {describe(tlv.tag)} at byte {tlv.offset}; "
            f"RFC 8226 requires {describe(expected)}",
        )
    content = data[tlv.start : tlv.end]
    if expected == IA5_STRING:
        if content.isascii():  # the common case, without a Python loop over the bytes
            return content.decode("ascii")
        for index, octet in enumerate(content):
            if octet > 0x7F:
                at = tlv.start + index
                raise DERError(at, f"{what}: byte 0x{octet:02x} at {at} is not IA5 (ASCII)")
        return content.decode("ascii")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as error:
        at = tlv.start + error.start
        raise DERError(at, f"{what}: invalid UTF-8 at byte {at}") from None


def tlv(tag: int, content: bytes) -> bytes:
    """One DER TLV with a single-octet tag and a definite, minimal length (X.690 §8.1.3, §10.1)."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    octets = (size.bit_length() + 7) // 8
    return bytes((tag, 0x80 | octets)) + size.to_bytes(octets, "big") + content


def integer(value: int) -> bytes:
    """A DER INTEGER: two's complement in the fewest octets (X.690 §8.3.2)."""
    size = (value + (value < 0)).bit_length() // 8 + 1
    return tlv(INTEGER, value.to_bytes(size, "big", signed=True))
