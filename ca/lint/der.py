"""A minimal DER reader for what lints need from the raw TBS: name attributes with their tags.

cryptography hides the string type of a name attribute and asn1crypto is slow to build the
objects; the issuance pipeline lints every certificate, so the two names are walked here
directly (X.690 §8.1 TLVs, RFC 5280 §4.1 field order).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

_SEQUENCE, _SET, _OID, _CONTEXT_0 = 0x30, 0x31, 0x06, 0xA0
_DECODERS = {
    0x0C: "utf-8",  # UTF8String
    0x13: "ascii",  # PrintableString
    0x16: "ascii",  # IA5String
    0x14: "latin-1",  # TeletexString (as commonly used)
    0x1E: "utf-16-be",  # BMPString
    0x1C: "utf-32-be",  # UniversalString
}


class DERError(ValueError):
    """The bytes are not the DER this reader expects."""


@dataclass(frozen=True)
class NameAttribute:
    """One AttributeTypeAndValue as encoded: dotted OID, universal tag and decoded text."""

    oid: str
    tag: int
    text: str | None  # None when the bytes do not decode as the tag's character set


def read_tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """``(tag, content_start, content_end)`` of the TLV at ``pos``; single-byte tags only."""
    if pos + 2 > end:
        raise DERError("truncated TLV")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise DERError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > end:
        raise DERError("length runs past the end")
    return tag, pos, pos + length


def children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """The TLVs inside a constructed value's content."""
    found = []
    while start < end:
        tag, content, stop = read_tlv(data, start, end)
        found.append((tag, content, stop))
        start = stop
    return found


@functools.lru_cache(maxsize=512)
def decode_oid(body: bytes) -> str:
    """Dotted form of an OBJECT IDENTIFIER's content octets (X.690 §8.19)."""
    arcs: list[int] = []
    value = 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        raise DERError("empty OID")
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in [first, arcs[0] - 40 * first, *arcs[1:]])


def _attributes(data: bytes, start: int, end: int) -> list[NameAttribute]:
    attributes = []
    for set_tag, set_start, set_end in children(data, start, end):
        if set_tag != _SET:
            raise DERError("a Name holds something other than SETs")
        for seq_tag, seq_start, seq_end in children(data, set_start, set_end):
            parts = children(data, seq_start, seq_end) if seq_tag == _SEQUENCE else []
            if len(parts) != 2 or parts[0][0] != _OID:
                raise DERError("malformed AttributeTypeAndValue")
            (_, oid_start, oid_end), (tag, value_start, value_end) = parts
            encoding = _DECODERS.get(tag)
            try:
                text = data[value_start:value_end].decode(encoding) if encoding else None
            except UnicodeDecodeError:
                text = None
            attributes.append(NameAttribute(decode_oid(data[oid_start:oid_end]), tag, text))
    return attributes


def tbs_names(tbs: bytes) -> tuple[list[NameAttribute], list[NameAttribute]]:
    """The issuer's and the subject's attributes, in encoded order (RFC 5280 §4.1)."""
    tag, start, end = read_tlv(tbs, 0, len(tbs))
    if tag != _SEQUENCE:
        raise DERError("TBSCertificate is not a SEQUENCE")
    fields = children(tbs, start, end)
    if fields and fields[0][0] == _CONTEXT_0:  # the optional [0] version
        fields = fields[1:]
    if len(fields) < 5 or fields[2][0] != _SEQUENCE or fields[4][0] != _SEQUENCE:
        raise DERError("TBSCertificate lacks issuer or subject")
    issuer, subject = fields[2], fields[4]
    return _attributes(tbs, issuer[1], issuer[2]), _attributes(tbs, subject[1], subject[2])
