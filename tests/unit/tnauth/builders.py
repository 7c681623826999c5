"""Tiny DER builders for hand-made TNAuthList test inputs (short-form lengths only)."""

from __future__ import annotations


def tlv(tag: int, content: bytes) -> bytes:
    """A DER TLV with a short-form length (all test structures are small)."""
    assert len(content) < 0x80
    return bytes([tag, len(content)]) + content


def ia5(text: str) -> bytes:
    return tlv(0x16, text.encode("ascii"))


def integer(value: int) -> bytes:
    return tlv(0x02, value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True))


def tn_list(*entries: bytes) -> bytes:
    return tlv(0x30, b"".join(entries))


def spc(text: str) -> bytes:
    return tlv(0xA0, ia5(text))


def one(text: str) -> bytes:
    return tlv(0xA2, ia5(text))


def tn_range(start: str, count: int, *extra: bytes) -> bytes:
    return tlv(0xA1, tlv(0x30, ia5(start) + integer(count) + b"".join(extra)))
