"""DER encoding and strict decoding of TNAuthList (RFC 8226 §9 and Appendix A, X.690 DER)."""

from __future__ import annotations

from ca.errors import CAError, malformed
from ca.tnauth.der import (
    IA5_STRING,
    INTEGER,
    SEQUENCE,
    STRING_TAGS,
    DERError,
    Header,
    describe,
    integer,
    read_children,
    read_integer,
    read_string,
    read_tlv,
    tlv,
)
from ca.tnauth.numbers import TelephoneNumber, TNRange, check_spc
from ca.tnauth.tnauthlist import Entry, TNAuthList

FIELD = "TNAuthList"
#: What the decoders accept: DER as any bytes-like object.
ByteString = bytes | bytearray | memoryview
_SPC, _RANGE, _ONE = 0xA0, 0xA1, 0xA2  # [0] [1] [2], constructed: EXPLICIT
_ALTERNATIVES = {_SPC: "spc", _RANGE: "range", _ONE: "one"}
_EXPECTED = "expected [0] spc, [1] range or [2] one, EXPLICIT (RFC 8226 Appendix A)"


def encode(tn_auth_list: TNAuthList) -> bytes:
    """DER of the entries in the given order (RFC 8226 Appendix A, EXPLICIT TAGS).

    Written directly (every certificate issued carries one; asn1crypto's object model costs
    ~60 µs for a one-range list). ``ca.tnauth.asn1.TNAuthorizationList`` describes the same
    structure, and the tests check that both encode every list to the same bytes.
    """
    if not tn_auth_list.entries:
        raise malformed(FIELD, "an empty TNAuthList cannot be encoded: RFC 8226 says SIZE (1..MAX)")
    items = []
    for entry in tn_auth_list.entries:
        if isinstance(entry, TNRange):
            start = tlv(IA5_STRING, entry.start.encode("ascii"))
            items.append(tlv(_RANGE, tlv(SEQUENCE, start + integer(entry.count))))
        elif isinstance(entry, TelephoneNumber):
            items.append(tlv(_ONE, tlv(IA5_STRING, entry.value.encode("ascii"))))
        else:
            items.append(tlv(_SPC, tlv(IA5_STRING, entry.encode("ascii"))))
    return tlv(SEQUENCE, b"".join(items))


def as_bytes(der: object, field: str = FIELD) -> bytes:
    """Accept the byte-like types callers hold; anything else is malformed input, not a crash."""
    if isinstance(der, bytes | bytearray | memoryview):
        return bytes(der)
    raise malformed(field, f"expected DER bytes, got {type(der).__name__}")


def decode_strict(der: ByteString) -> TNAuthList:
    """Decode DER, rejecting anything RFC 8226 Appendix A and X.690 DER do not allow."""
    data = as_bytes(der)
    try:
        plain = _plain_entries(data)
        return TNAuthList(_parse_list(data) if plain is None else plain)
    except DERError as error:
        raise malformed(FIELD, error.message) from None
    except CAError as error:
        # Value objects raise with their own field names; report them under this field.
        raise malformed(FIELD, error.detail) from None


def _plain_entries(data: bytes) -> list[Entry] | None:
    """The entries of a list in the plain shape encoders write; None sends it to ``_parse_list``.

    The fast path for what nearly every certificate carries (the issuance pipeline decodes each
    one it lints): short-form entries, IA5String digits, minimal positive INTEGER counts and
    nothing after them. It accepts nothing ``_parse_list`` refuses: any other shape, and any
    value the value objects refuse, goes to the full parser, which says precisely what is wrong.
    """
    size = len(data)
    if size < 2 or data[0] != SEQUENCE:
        return None
    first = data[1]
    if first < 0x80:
        position, end = 2, 2 + first
    elif first == 0x81 and size > 2 and data[2] >= 0x80:
        position, end = 3, 3 + data[2]
    elif first == 0x82 and size > 3 and data[2] != 0:
        position, end = 4, 4 + (data[2] << 8 | data[3])
    else:
        return None  # other lengths: let the full parser judge them
    if end != size or position == end:
        return None
    entries: list[Entry] = []
    try:
        while position < end:
            # [n] EXPLICIT { TLV }, both lengths in the short form, filling the entry exactly.
            tag, length = data[position], data[position + 1]
            stop = position + 2 + length
            if length < 2 or length >= 0x80 or stop > end:
                return None
            inner, inner_length = data[position + 2], data[position + 3]
            if position + 4 + inner_length != stop:
                return None
            body = data[position + 4 : stop]
            entry: Entry | None
            if tag == 0xA2 and inner == IA5_STRING and body.isdigit():
                entry = TelephoneNumber(body.decode("ascii"))
            elif tag == 0xA1 and inner == SEQUENCE:
                entry = _plain_range(body)
            elif tag == 0xA0 and inner == IA5_STRING and body.isascii():
                entry = check_spc(body.decode("ascii"))
            else:
                entry = None
            if entry is None:
                return None
            entries.append(entry)
            position = stop
    except (CAError, IndexError):
        return None
    return entries


def _plain_range(body: bytes) -> TNRange | None:
    """``SEQUENCE { start IA5String (digits), count INTEGER }`` contents, nothing after count."""
    if len(body) < 4 or body[0] != IA5_STRING or body[1] >= 0x80:
        return None
    count_at = 2 + body[1]
    start = body[2:count_at]
    if not start.isdigit() or body[count_at] != INTEGER:
        return None
    octets = body[count_at + 2 :]
    if not octets or body[count_at + 1] != len(octets) or len(octets) >= 0x80 or octets[0] & 0x80:
        return None  # absent, long-form, trailing or negative
    if len(octets) > 1 and octets[0] == 0 and octets[1] < 0x80:
        return None  # not minimally encoded
    count = int.from_bytes(octets, "big")
    if count < 2:
        return None
    return TNRange(start.decode("ascii"), count, strict=False)


def _parse_list(data: bytes) -> list[Entry]:
    top = read_tlv(data, 0, len(data), "TNAuthList")
    if top.tag != SEQUENCE:
        hint = "; a URL in place of the list?" if top.tag in STRING_TAGS else ""
        raise DERError(0, f"not a SEQUENCE: found {describe(top.tag)} at byte 0{hint}")
    if top.end != len(data):
        raise DERError(
            top.end, f"{len(data) - top.end} trailing byte(s) after the list at byte {top.end}"
        )
    if top.start == top.end:
        raise DERError(0, "empty TNAuthList: RFC 8226 says SIZE (1..MAX)")
    entries: list[Entry] = []
    position = top.start
    while position < top.end:
        entry = read_tlv(data, position, top.end, f"entry {len(entries)}")
        entries.append(_parse_entry(data, entry, len(entries)))
        position = entry.end
    return entries


def _parse_entry(data: bytes, entry: Header, index: int) -> Entry:
    where = f"entry {index} at byte {entry.offset}"
    name = _ALTERNATIVES.get(entry.tag)
    if name is None:
        if entry.tag & 0xC0 == 0x80 and (entry.tag & 0x1F) in (0, 1, 2):
            n = entry.tag & 0x1F
            raise DERError(
                entry.offset,
                f"{where}: IMPLICIT tagging, [{n}] is primitive (0x{entry.tag:02x}); RFC 8226 "
                f"uses EXPLICIT tags, so [{n}] is 0x{0xA0 | n:02x} wrapping a complete TLV",
            )
        if entry.tag & 0xC0 == 0x80:
            raise DERError(
                entry.offset, f"{where}: unknown alternative {describe(entry.tag)}; {_EXPECTED}"
            )
        raise DERError(entry.offset, f"{where}: untagged {describe(entry.tag)}; {_EXPECTED}")
    if entry.start == entry.end:
        raise DERError(entry.offset, f"{where}: [{entry.tag & 0x1F}] {name} is empty")
    try:
        inner = read_tlv(data, entry.start, entry.end, f"{where} ({name})")
    except DERError as error:
        content = data[entry.start : entry.end]
        if all(0x20 <= octet < 0x7F for octet in content):
            # Raw characters straight inside the tag: IMPLICIT content under a constructed tag.
            raise DERError(
                entry.start,
                f"{where}: [{entry.tag & 0x1F}] {name} holds the characters {content!r} "
                "instead of a complete TLV (IMPLICIT tagging?)",
            ) from None
        raise error from None
    if inner.end != entry.end:
        extra = entry.end - inner.end
        raise DERError(inner.end, f"{where}: {extra} trailing byte(s) inside the {name} entry")
    if name == "range":
        return _parse_range(data, inner, where)
    text = read_string(data, inner, f"{where} ({name})", IA5_STRING)
    if name == "spc":
        return check_spc(text, where)
    try:
        return TelephoneNumber(text)
    except CAError as error:
        raise DERError(inner.start, f"{where} (one): {error.detail}") from None


def _parse_range(data: bytes, sequence: Header, where: str) -> TNRange:
    what = f"{where} (range)"
    if sequence.tag != SEQUENCE:
        raise DERError(
            sequence.offset, f"{what}: expected a SEQUENCE, found {describe(sequence.tag)}"
        )
    parts = read_children(data, sequence, what)
    if len(parts) < 2:
        missing = "start and count" if not parts else "count"
        raise DERError(sequence.offset, f"{what}: the range SEQUENCE lacks its {missing}")
    # Components after count are allowed: TelephoneNumberRange ends with the "..." extension
    # marker (RFC 8226 Appendix A), so a decoder must skip additions it does not know. One
    # shape is refused all the same: another start/count pair, an encoding met in the wild
    # (STANDARDS §1) whose extra ranges a silent skip would drop.
    if len(parts) >= 4 and parts[2].tag in STRING_TAGS and parts[3].tag == INTEGER:
        raise DERError(
            parts[2].offset,
            f"{what}: the range SEQUENCE holds a second start/count pair at byte "
            f"{parts[2].offset}; RFC 8226 puts one range in each entry",
        )
    start = read_string(data, parts[0], f"{what} start", IA5_STRING)
    count = read_integer(data, parts[1], f"{what} count")
    if count < 1:
        raise DERError(parts[1].offset, f"{what}: count {count} is not a positive INTEGER")
    if count < 2:
        raise DERError(parts[1].offset, f"{what}: count 1 is below 2; a single number is a 'one'")
    try:
        # Others' certificates get RFC 8226's prose bound ("must not grow in length").
        return TNRange(start, count, strict=False)
    except CAError as error:
        raise DERError(parts[0].start, f"{what}: {error.detail}") from None
