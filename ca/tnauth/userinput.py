"""Parsing TNAuthList scopes typed by people or posted as JSON (RFC 8226 §9), errors per field."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ca.errors import CAError, malformed
from ca.tnauth.numbers import ISSUABLE_SPC_RE, TelephoneNumber, TNRange, check_spc, normalize_tn
from ca.tnauth.tnauthlist import Entry

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ca.tnauth.tnauthlist import TNAuthList

RANGE_FORM = "a range is START:COUNT, e.g. 12025550000:100"


def _listed(values: object, field: str) -> list[object]:
    # A bare string is iterable too, and would silently become one entry per character.
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise malformed(field, f"expected a list, got {type(values).__name__}")
    return list(values)


def _count(value: object, field: str) -> int:
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        return int(value.strip())
    if type(value) is int:
        return value
    raise malformed(field, f"count {value!r} is not a whole number; {RANGE_FORM}")


def _range_entry(value: object, field: str) -> TelephoneNumber | TNRange:
    """One user range; a count of 1 is a single number, as RFC 8226 §9 spells it (``one``)."""
    if isinstance(value, str):
        start, sep, count_text = value.partition(":")
        if not sep:
            raise malformed(field, f"{value!r} has no ':'; {RANGE_FORM}")
        raw_count: object = count_text
    elif isinstance(value, tuple | list) and len(value) == 2:
        start, raw_count = value
    else:
        raise malformed(field, f"{value!r} is neither START:COUNT nor (start, count)")
    number = normalize_tn(start, field)
    count = _count(raw_count, field)
    if count < 1:
        raise malformed(field, f"count {count} must be at least 1")
    if count == 1:
        return TelephoneNumber(number)
    try:
        return TNRange(number, count, strict=True)
    except CAError as error:
        raise malformed(field, error.detail) from None


def parse_user_scope(
    cls: type[TNAuthList],
    tns: Iterable[str],
    ranges: Iterable[str | tuple[str, int]],
    spcs: Iterable[str],
) -> TNAuthList:
    """SPCs, then numbers, then ranges, as given; Delegato issues SPCs of digits and capitals."""
    entries: list[Entry] = []
    for i, spc in enumerate(_listed(spcs, "spcs")):
        check_spc(spc, f"spcs[{i}]")
        if not ISSUABLE_SPC_RE.fullmatch(str(spc)):
            raise malformed(f"spcs[{i}]", f"SPC {spc!r} must be digits and uppercase letters")
        entries.append(str(spc))
    for i, tn in enumerate(_listed(tns, "tns")):
        entries.append(TelephoneNumber(normalize_tn(tn, f"tns[{i}]")))  # type: ignore[arg-type]
    for i, value in enumerate(_listed(ranges, "ranges")):
        entries.append(_range_entry(value, f"ranges[{i}]"))
    if not entries:
        raise malformed("tn_auth_list", "give at least one telephone number, range or SPC")
    return cls(entries)


def parse_json_entries(data: object, field: str, *, strict: bool = True) -> list[Entry]:
    """Entries of the ``TNAuthList.to_json()`` form, checked one by one."""
    entries: list[Entry] = []
    for i, item in enumerate(_listed(data, field)):
        where = f"{field}[{i}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise malformed(where, 'expected one of {"spc": ...}, {"one": ...}, {"range": ...}')
        ((kind, value),) = item.items()
        if kind == "spc":
            entries.append(check_spc(value, where))
        elif kind == "one":
            entries.append(_json_number(value, where))
        elif kind == "range" and isinstance(value, dict) and set(value) == {"start", "count"}:
            if type(value["count"]) is not int:
                raise malformed(where, f"count {value['count']!r} is not an integer")
            try:
                entries.append(TNRange(value["start"], value["count"], strict=strict))
            except CAError as error:
                raise malformed(where, error.detail) from None
        else:
            raise malformed(where, f"unknown entry {item!r}; a range is {{start, count}}")
    return entries


def _json_number(value: object, field: str) -> TelephoneNumber:
    try:
        return TelephoneNumber(value)  # type: ignore[arg-type]
    except CAError as error:
        raise malformed(field, error.detail) from None
