"""Telephone numbers, number ranges and SPCs: the values a TNAuthList holds (RFC 8226 §9)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from operator import attrgetter

from ca.errors import CAError, malformed
from ca.tnauth.intervals import SHIFT

MAX_DIGITS = 15
TN_RULE = "a telephone number is 1-15 of 0-9, *, #"

# Precompiled so that building lists of a million numbers stays cheap: one fullmatch per entry.
_TN_RE = re.compile(r"[0-9*#]{1,15}")
_DIGITS_RE = re.compile(r"[0-9]{1,15}")
# An SPC read from a certificate is any IA5String; refuse only what cannot be shown or logged
# safely (control characters) and the empty string, which names no provider.
_SPC_RE = re.compile(r"[\x20-\x7e]+")
# Delegato issues only what the SHAKEN profile allows: digits and uppercase letters.
ISSUABLE_SPC_RE = re.compile(r"[0-9A-Z]+")


def check_spc(value: object, field: str = "spc") -> str:
    """Return ``value`` if it is a ServiceProviderCode (IA5String, RFC 8226 §9)."""
    if isinstance(value, str) and _SPC_RE.fullmatch(value):
        return value
    if not isinstance(value, str):
        raise malformed(field, f"an SPC is a string, got {type(value).__name__}")
    if not value:
        raise malformed(field, "an SPC cannot be empty")
    bad = next(c for c in value if not _SPC_RE.fullmatch(c))
    raise malformed(field, f"SPC {value!r} contains {bad!r}; an SPC is printable ASCII")


# Separators people type around E.164 numbers; they carry no meaning in a certificate.
_SEPARATORS = str.maketrans("", "", "+()-. ")


def _tn_error(value: object, field: str, original: str | None = None) -> CAError:
    """Explain why ``value`` is not a telephone number; ``original`` is what the user typed."""
    if not isinstance(value, str):
        return malformed(field, f"expected a string, got {type(value).__name__}; {TN_RULE}")
    shown = value if original is None else original
    # Report the first offending character at its 1-based position in what the user typed.
    for index, char in enumerate(shown):
        if char not in "0123456789*#" and (original is None or char not in "+()-. "):
            return malformed(
                field, f"{shown!r} contains {char!r} at position {index + 1}; {TN_RULE}"
            )
    if not value:
        return malformed(field, f"{shown!r} has no digits; {TN_RULE}")
    what = "characters" if original is None else "characters once separators are removed"
    return malformed(field, f"{shown!r} has {len(value)} {what}; {TN_RULE}")


def check_tn(value: object, field: str = "tn") -> str:
    """Return ``value`` if it is a telephone number as certificates carry it (RFC 8226 §9)."""
    if isinstance(value, str) and _TN_RE.fullmatch(value):
        return value
    raise _tn_error(value, field)


def normalize_tn(text: str, field: str = "tn") -> str:
    """Strip ``+ ( ) - .`` and spaces from user input and validate the rest (RFC 8226 §9)."""
    if not isinstance(text, str):
        raise _tn_error(text, field)
    value = text.translate(_SEPARATORS)
    if _TN_RE.fullmatch(value):
        return value
    raise _tn_error(value, field, original=text)


class TelephoneNumber:
    """One telephone number, the E.164 digits without ``+`` (RFC 8226 §9 ``TelephoneNumber``)."""

    __slots__ = ("_key", "_value")

    def __init__(self, value: str) -> None:
        self._value = check_tn(value)
        # The interval key (ca.tnauth.intervals), -1 for a literal. Computed here, once, because
        # indexing a million-entry list reads it for every number and int() there costs more.
        self._key = len(value) << SHIFT | int(value) if value.isdigit() else -1

    @property
    def value(self) -> str:
        return self._value

    @property
    def is_literal(self) -> bool:
        """True when the number holds ``*`` or ``#``: it then only matches itself."""
        return self._key < 0

    def __str__(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"<TelephoneNumber({self._value!r})>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TelephoneNumber):
            return NotImplemented
        return self._value == other._value

    def __hash__(self) -> int:
        return hash(("one", self._value))


# Reads the slot directly: a property call per number is measurable on million-entry lists.
_KEY_OF = attrgetter("_key")


def key_of(number: TelephoneNumber) -> int:
    """The interval key of one number; -1 for a literal."""
    return number._key


def keys_of(numbers: Iterable[TelephoneNumber]) -> list[int]:
    """The interval keys of many numbers at C speed; -1 marks a literal number."""
    return list(map(_KEY_OF, numbers))


def range_bound_error(start: str, count: int, *, strict: bool) -> str | None:
    """Say why ``start``/``count`` breaks RFC 8226 §9's no-growth rule, or None when it holds."""
    digits = len(start)
    end = int(start) + count  # one past the last number
    if end > 10**digits:
        return (
            f"range {start} count {count} would grow past {digits} digits; "
            "a range never changes the number of digits (RFC 8226 §9)"
        )
    if strict and end == 10**digits:
        return (
            f"range {start} count {count} ends at the all-nines number {'9' * digits}; "
            "RFC 8226's formula requires start + count < 10^digits, so issue it as a separate one"
        )
    return None


class TNRange:
    """``count`` consecutive numbers from ``start`` of the same length (RFC 8226 §9)."""

    __slots__ = ("_count", "_start")

    def __init__(self, start: str | TelephoneNumber, count: int, *, strict: bool = True) -> None:
        # strict applies RFC 8226's formula (start + count < 10^D), used when issuing; strict=False
        # applies its prose ("must not grow in length"), used when reading others' certificates.
        start_text = start.value if isinstance(start, TelephoneNumber) else start
        self._start = check_tn(start_text, "start")
        if type(count) is not int:
            raise malformed("count", f"expected an integer, got {type(count).__name__}")
        if count < 2:
            raise malformed(
                "count", f"{count} is below 2; a single number is a 'one' (RFC 8226 §9)"
            )
        if _DIGITS_RE.fullmatch(self._start):
            problem = range_bound_error(self._start, count, strict=strict)
            if problem:
                raise malformed("count", problem)
        self._count = count

    @classmethod
    def from_interval(cls, length: int, lo: int, hi: int, *, strict: bool = True) -> TNRange:
        """The range of ``length``-digit numbers ``lo..hi`` inclusive (``hi > lo``)."""
        if not 1 <= length <= MAX_DIGITS or not 0 <= lo < hi < 10**length:
            raise malformed("interval", f"({length}, {lo}, {hi}) is not a range of numbers")
        return cls(str(lo).zfill(length), hi - lo + 1, strict=strict)

    @property
    def start(self) -> str:
        return self._start

    @property
    def count(self) -> int:
        return self._count

    @property
    def is_literal(self) -> bool:
        """True when ``start`` holds ``*`` or ``#``: the range then only matches itself."""
        return _DIGITS_RE.fullmatch(self._start) is None

    @property
    def last(self) -> str | None:
        """The last number of the range, or None for a literal range (it has no numeric order)."""
        if self.is_literal:
            return None
        return str(int(self._start) + self._count - 1).zfill(len(self._start))

    @property
    def within_strict_bound(self) -> bool:
        """True when the range meets RFC 8226's formula, the bound Delegato issues under."""
        return self.is_literal or range_bound_error(self._start, self._count, strict=True) is None

    def __repr__(self) -> str:
        return f"<TNRange(start={self._start!r}, count={self._count})>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TNRange):
            return NotImplemented
        return (self._start, self._count) == (other._start, other._count)

    def __hash__(self) -> int:
        return hash(("range", self._start, self._count))


def entries_for_interval(length: int, lo: int, hi: int) -> Iterator[TelephoneNumber | TNRange]:
    """Entries for one merged interval that meet RFC 8226's strict formula."""
    if lo == hi:
        yield TelephoneNumber(str(lo).zfill(length))
        return
    top = 10**length - 1
    # start + count < 10^D forbids a range reaching the all-nines number: end it one earlier.
    range_hi = hi - 1 if hi == top else hi
    if range_hi == lo:
        yield TelephoneNumber(str(lo).zfill(length))
    else:
        yield TNRange.from_interval(length, lo, range_hi)
    if range_hi != hi:
        yield TelephoneNumber(str(hi).zfill(length))
