"""A minimal DER reader for what lints need from the raw TBS: names as encoded, the key's bits.

cryptography hides the string type of a name attribute and asn1crypto is slow to build the
objects; the issuance pipeline lints every certificate, so the TBS is walked here directly, once
(X.690 §8.1 TLVs, RFC 5280 §4.1 field order), and every lint reads the same parts.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

_SEQUENCE, _SET, _OID, _BIT_STRING, _CONTEXT_0 = 0x30, 0x31, 0x06, 0x03, 0xA0
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


class NameAttribute(NamedTuple):
    """One AttributeTypeAndValue as encoded: dotted OID, universal tag and decoded text."""

    oid: str
    tag: int
    text: str | None  # None when the bytes do not decode as the tag's character set


class TBSFields(NamedTuple):
    """The parts of a TBSCertificate that lints read as encoded (RFC 5280 §4.1)."""

    issuer: bytes  # the issuer Name, whole TLV
    subject: bytes  # the subject Name, whole TLV
    subject_public_key: bytes | None  # subjectPublicKey bits; None when not a BIT STRING


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


def first_element(der: bytes) -> bytes:
    """The first TLV inside a SEQUENCE, e.g. a Certificate's tbsCertificate (RFC 5280 §4.1)."""
    tag, start, end = read_tlv(der, 0, len(der))
    if tag != _SEQUENCE or start == end:
        raise DERError("not a SEQUENCE with contents")
    return der[start : read_tlv(der, start, end)[2]]


def name_attributes(name: bytes) -> list[NameAttribute]:
    """The attributes of an encoded Name, in encoded order (RFC 5280 §4.1.2.4)."""
    tag, position, end = read_tlv(name, 0, len(name))
    if tag != _SEQUENCE:
        raise DERError("a Name is not a SEQUENCE")
    attributes = []
    while position < end:
        set_tag, item, set_end = read_tlv(name, position, end)
        if set_tag != _SET:
            raise DERError("a Name holds something other than SETs")
        while item < set_end:
            # AttributeTypeAndValue ::= SEQUENCE { type OBJECT IDENTIFIER, value ANY }
            item_tag, inner, item_end = read_tlv(name, item, set_end)
            if item_tag != _SEQUENCE or inner == item_end:
                raise DERError("malformed AttributeTypeAndValue")
            oid_tag, oid_start, oid_end = read_tlv(name, inner, item_end)
            if oid_tag != _OID or oid_end == item_end:
                raise DERError("malformed AttributeTypeAndValue")
            value_tag, value_start, value_end = read_tlv(name, oid_end, item_end)
            if value_end != item_end:
                raise DERError("malformed AttributeTypeAndValue")
            encoding = _DECODERS.get(value_tag)
            try:
                text = name[value_start:value_end].decode(encoding) if encoding else None
            except UnicodeDecodeError:
                text = None
            attributes.append(NameAttribute(decode_oid(name[oid_start:oid_end]), value_tag, text))
            item = item_end
        position = set_end
    return attributes


def tbs_fields(tbs: bytes) -> TBSFields:
    """Issuer, subject and subject key of a TBSCertificate, as encoded (RFC 5280 §4.1)."""
    tag, position, end = read_tlv(tbs, 0, len(tbs))
    if tag != _SEQUENCE:
        raise DERError("TBSCertificate is not a SEQUENCE")
    # [0] version (optional), serialNumber, signature, issuer, validity, subject, spki, ...
    fields: list[tuple[int, int, int, int]] = []
    while position < end and len(fields) < 7:
        field_tag, content, stop = read_tlv(tbs, position, end)
        fields.append((field_tag, position, content, stop))
        position = stop
    if fields and fields[0][0] == _CONTEXT_0:
        del fields[0]
    if len(fields) < 5 or fields[2][0] != _SEQUENCE or fields[4][0] != _SEQUENCE:
        raise DERError("TBSCertificate lacks issuer or subject")
    issuer, subject = fields[2], fields[4]
    return TBSFields(
        tbs[issuer[1] : issuer[3]],
        tbs[subject[1] : subject[3]],
        _public_key_bits(tbs, fields[5]) if len(fields) > 5 else None,
    )


def _public_key_bits(tbs: bytes, spki: tuple[int, int, int, int]) -> bytes | None:
    """SubjectPublicKeyInfo's BIT STRING without its unused-bits octet (RFC 5280 §4.1.2.7)."""
    tag, _, position, end = spki
    if tag != _SEQUENCE:
        return None
    try:
        parts = children(tbs, position, end)
    except DERError:
        return None  # the key lints say what is wrong with it; the names are still readable
    if len(parts) != 2 or parts[1][0] != _BIT_STRING or parts[1][1] == parts[1][2]:
        return None
    _, start, stop = parts[1]
    return tbs[start + 1 : stop]
