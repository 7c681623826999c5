"""Lenient TNAuthList decoding for verifiers reading others' certificates (RFC 8226 §9).

Production certificates carry encodings that are not RFC 8226 DER (STANDARDS §1, "Encodings met
in the wild"). The strict decoder rejects them; this one recovers what it can and says, in one
warning per recovery, what was wrong. It is a verifier option, never used when issuing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ca.errors import CAError, malformed
from ca.tnauth.codec import FIELD, ByteString, as_bytes, decode_strict
from ca.tnauth.der import (
    INTEGER,
    SEQUENCE,
    STRING_TAGS,
    DERError,
    Header,
    describe,
    read_header,
    read_integer,
)
from ca.tnauth.numbers import TelephoneNumber, TNRange, check_spc, check_tn, range_bound_error
from ca.tnauth.tnauthlist import Entry, TNAuthList


@dataclass(frozen=True)
class LenientDecode:
    """What :func:`decode_lenient` recovered, and one warning per liberty it took."""

    tn_auth_list: TNAuthList | None
    warnings: list[str] = field(default_factory=list)


def decode_lenient(der: ByteString) -> LenientDecode:
    """Decode, recovering known malformations with warnings; CAError only if nothing is usable."""
    data = as_bytes(der)
    try:
        strict = decode_strict(data)
    except CAError as error:
        reason = error.detail
    else:
        return LenientDecode(strict, _bound_warnings(strict.entries))
    warnings = [f"not RFC 8226 DER: {reason}"]
    try:
        recovered = _recover(data, warnings)
    except (DERError, CAError):
        raise malformed(FIELD, f"nothing recoverable: {reason}") from None
    return LenientDecode(recovered, warnings)


def _bound_warnings(entries: tuple[Entry, ...]) -> list[str]:
    return [
        f"range {entry.start} count {entry.count} reaches the all-nines number: allowed by "
        "RFC 8226's prose, not by its formula (start + count < 10^digits)"
        for entry in entries
        if isinstance(entry, TNRange) and not entry.within_strict_bound
    ]


def _recover(data: bytes, warnings: list[str]) -> TNAuthList | None:
    """The recovered list; None for the recognised empty shapes; DERError when nothing is usable."""
    top = read_header(data, 0, len(data), "TNAuthList")
    end = min(top.end, len(data))
    if top.tag in STRING_TAGS:
        text = data[top.start : end].decode("latin-1")
        warnings.append(f"a {describe(top.tag)} {text!r} in place of the list (a URL?): no entries")
        return None
    if top.tag != SEQUENCE:
        raise DERError(0, f"{describe(top.tag)} is neither a list nor a string")
    if not top.minimal:
        warnings.append("the list's length is not minimally encoded")
    if top.end > len(data):
        warnings.append(f"the list's length overruns the data by {top.end - len(data)} byte(s)")
    elif top.end < len(data):
        warnings.append(f"ignored {len(data) - top.end} trailing byte(s) after the list")
    if top.start == end:
        warnings.append("the list is empty")
        return None
    entries: list[Entry] = []
    position = top.start
    while position < end:
        position = _recover_entry(data, position, end, len(entries), entries, warnings)
    if not entries:
        raise DERError(top.start, "no entry could be recovered")
    return TNAuthList(entries)


def _recover_entry(
    data: bytes, position: int, end: int, index: int, entries: list[Entry], warnings: list[str]
) -> int:
    """Recover one entry into ``entries`` and return where the next one starts."""
    where = f"entry {index} at byte {position}"
    try:
        header = read_header(data, position, end, where)
    except DERError as error:
        warnings.append(f"{error.message}; stopped reading")
        return end
    tag = header.tag
    if not header.minimal:
        warnings.append(f"{where}: length not minimally encoded")
    if header.end > end:
        # The SPC IA5String whose length byte is missing (30 08 a0 06 16 <4 chars>): each
        # enclosing length counts the missing byte, so the wrapper is exactly one byte short.
        missing_one = header.end == end + 1 and header.start < end
        if tag in (0xA0, 0xA2) and missing_one and data[header.start] in STRING_TAGS:
            text = data[header.start + 1 : end].decode("latin-1")
            warnings.append(f"{where}: the {describe(data[header.start])} lacks its length byte")
            _add_text(tag & 0x1F, text, where, entries, warnings)
        else:
            warnings.append(f"{where}: {describe(tag)} overruns the list; stopped reading")
        return end
    content = data[header.start : header.end]
    if tag in (0x80, 0x82):
        warnings.append(f"{where}: IMPLICIT-style {describe(tag)}; RFC 8226 tags are EXPLICIT")
        _add_text(tag & 0x1F, content.decode("latin-1"), where, entries, warnings)
    elif tag in STRING_TAGS:
        warnings.append(f"{where}: an untagged {describe(tag)} read as an SPC")
        _add_text(0, content.decode("latin-1"), where, entries, warnings)
    elif tag in (0xA0, 0xA2):
        _recover_wrapped(data, header, where, entries, warnings)
    elif tag == 0xA1:
        _recover_range(data, header, where, entries, warnings)
    else:
        warnings.append(f"{where}: skipped {describe(tag)}, which is not a TNEntry")
    return header.end


def _recover_wrapped(
    data: bytes, header: Header, where: str, entries: list[Entry], warnings: list[str]
) -> None:
    try:
        inner = read_header(data, header.start, header.end, where)
    except DERError:
        inner = None
    if inner is None or inner.end > header.end or inner.tag not in STRING_TAGS:
        content = data[header.start : header.end]
        warnings.append(f"{where}: {describe(header.tag)} holds raw characters, not a string TLV")
        _add_text(header.tag & 0x1F, content.decode("latin-1"), where, entries, warnings)
        return
    if inner.tag != 0x16:
        warnings.append(f"{where}: {describe(inner.tag)} where RFC 8226 requires an IA5String")
    if inner.end != header.end:
        warnings.append(f"{where}: ignored {header.end - inner.end} trailing byte(s) in the entry")
    text = data[inner.start : inner.end].decode("latin-1")
    _add_text(header.tag & 0x1F, text, where, entries, warnings)


def _add_text(
    number: int, text: str, where: str, entries: list[Entry], warnings: list[str]
) -> None:
    """Add an SPC ([0]) or a single number ([2]), or warn and skip when the text is unusable."""
    try:
        entries.append(
            check_spc(text, where) if number == 0 else TelephoneNumber(check_tn(text, where))
        )
    except CAError as error:
        warnings.append(f"{where}: skipped: {error.detail}")


def _recover_range(
    data: bytes, header: Header, where: str, entries: list[Entry], warnings: list[str]
) -> None:
    """A range, or several start/count pairs in one SEQUENCE, each split into its own range."""
    try:
        sequence = read_header(data, header.start, header.end, where)
        if sequence.tag != SEQUENCE or sequence.end > header.end:
            raise DERError(header.start, f"{describe(sequence.tag)} is not a range SEQUENCE")
        parts = []
        position = sequence.start
        while position < sequence.end:
            part = read_header(data, position, sequence.end, where)
            if part.end > sequence.end:
                raise DERError(position, f"{describe(part.tag)} overruns the range")
            parts.append(part)
            position = part.end
    except DERError as error:
        warnings.append(f"{where}: skipped the range: {error.message}")
        return
    pairs = []
    # Consume start/count pairs; anything after the last pair is an extension addition.
    while len(parts) >= 2 and parts[0].tag in STRING_TAGS and parts[1].tag == INTEGER:
        pairs.append((parts[0], parts[1]))
        parts = parts[2:]
    if not pairs:
        warnings.append(f"{where}: skipped a range without a start and a count")
    elif len(pairs) > 1:
        warnings.append(f"{where}: one range SEQUENCE holds {len(pairs)} start/count pairs; split")
    for start_tlv, count_tlv in pairs:
        _add_range(data, start_tlv, count_tlv, where, entries, warnings)


def _add_range(
    data: bytes,
    start_tlv: Header,
    count_tlv: Header,
    where: str,
    entries: list[Entry],
    warnings: list[str],
) -> None:
    start = data[start_tlv.start : start_tlv.end].decode("latin-1")
    try:
        check_tn(start, where)
        count = read_integer(data, count_tlv, f"{where} count")
    except (CAError, DERError) as error:
        reason = error.detail if isinstance(error, CAError) else error.message
        warnings.append(f"{where}: skipped a range: {reason}")
        return
    if count < 1:
        warnings.append(f"{where}: skipped range {start} with count {count}")
    elif count == 1:
        warnings.append(f"{where}: range {start} has count 1; read as a single number")
        entries.append(TelephoneNumber(start))
    elif start.isdigit() and range_bound_error(start, count, strict=False):
        # Narrowing is the safe direction for a verifier: keep only numbers of the start's length.
        clamped = 10 ** len(start) - int(start)
        warnings.append(f"{where}: range {start} count {count} grows in length; cut to {clamped}")
        if clamped == 1:
            entries.append(TelephoneNumber(start))
        else:
            entries.append(TNRange(start, clamped, strict=False))
    else:
        entries.extend(_checked_range(start, count, where, warnings))


def _checked_range(start: str, count: int, where: str, warnings: list[str]) -> list[Entry]:
    entry = TNRange(start, count, strict=False)
    warnings.extend(f"{where}: {text}" for text in _bound_warnings((entry,)))
    return [entry]
