"""The TNAuthList value object and its set algebra (RFC 8226 §9, RFC 9060 §4)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import Any

from ca.errors import malformed
from ca.tnauth.intervals import NumberSet, key
from ca.tnauth.numbers import (
    MAX_DIGITS,
    TelephoneNumber,
    TNRange,
    check_spc,
    check_tn,
    entries_for_interval,
    key_of,
    keys_of,
)

Entry = str | TelephoneNumber | TNRange


def _literal_key(entry: TelephoneNumber | TNRange) -> tuple[int, str, int]:
    if isinstance(entry, TNRange):
        return len(entry.start), entry.start, entry.count
    return len(entry.value), entry.value, 1


class TNAuthList:
    """The numbers and SPCs a STIR certificate covers (RFC 8226 §9 ``TNAuthorizationList``).

    ``entries`` keep the given order (what the certificate says); equality, hashing and the set
    algebra follow the scope, so two lists that say the same thing differently are equal.
    """

    __slots__ = ("_canonical", "_der", "_entries", "_hash", "_literals", "_numbers", "_spcs")

    def __init__(self, entries: Iterable[Entry]) -> None:
        self._entries: tuple[Entry, ...] | None = tuple(entries)
        for i, entry in enumerate(self._entries):
            kind = type(entry)
            # Exact type checks first: this loop runs once per entry of million-entry lists.
            if kind is TelephoneNumber or kind is TNRange:
                continue
            if isinstance(entry, str):
                check_spc(entry, f"entries[{i}]")
            elif not isinstance(entry, TelephoneNumber | TNRange):
                raise malformed(f"entries[{i}]", f"not an SPC, number or range: {entry!r}")
        self._numbers: NumberSet | None = None
        self._spcs: frozenset[str] = frozenset()
        self._literals: frozenset[TelephoneNumber | TNRange] = frozenset()
        self._hash: int | None = None
        self._canonical: TNAuthList | None = None
        self._der: bytes | None = None

    @classmethod
    def _from_scope(
        cls, spcs: Iterable[str], numbers: NumberSet, literals: Iterable[TelephoneNumber | TNRange]
    ) -> TNAuthList:
        """The canonical list of an already validated scope (STANDARDS §1 Decision)."""
        made = cls.__new__(cls)
        # Entries are spelled out only when asked for: set algebra on million-number scopes
        # then costs interval work, not a million new objects.
        made._entries = None
        made._numbers, made._spcs, made._literals = numbers, frozenset(spcs), frozenset(literals)
        made._hash = None
        made._der = None
        made._canonical = made
        return made

    def _canonical_entries(self) -> tuple[Entry, ...]:
        entries: list[Entry] = list(sorted(self._spcs))
        for length, lo, hi in self._scope():
            entries.extend(entries_for_interval(length, lo, hi))
        ordered_literals = sorted(self._literals, key=_literal_key)
        entries.extend(ordered_literals)
        return tuple(entries)

    def _scope(self) -> NumberSet:
        """Index the numbers once, on first use; the list is immutable so it never goes stale."""
        if self._numbers is not None:
            return self._numbers
        # C-level passes rather than one loop with branches: this runs over million-entry lists.
        entries = self.entries
        try:
            # The common big case, numbers only; reading a key off an SPC or a range fails.
            keys, rest = keys_of(entries), []  # type: ignore[arg-type]
        except AttributeError:
            keys = keys_of(entry for entry in entries if isinstance(entry, TelephoneNumber))
            rest = [entry for entry in entries if not isinstance(entry, TelephoneNumber)]
        keys.sort()
        literals: set[TelephoneNumber | TNRange] = set()
        if keys and keys[0] < 0:
            # Literal numbers carry the key -1, so after sorting they lead the list.
            literals.update(e for e in entries if isinstance(e, TelephoneNumber) and e.is_literal)
            del keys[: bisect_left(keys, 0)]
        spans: list[tuple[int, int]] = []
        spcs: set[str] = set()
        for entry in rest:
            if isinstance(entry, TNRange):
                if entry.is_literal:
                    literals.add(entry)
                else:
                    lo = key(len(entry.start), int(entry.start))
                    spans.append((lo, lo + entry.count - 1))
            else:
                spcs.add(entry)
        self._spcs, self._literals = frozenset(spcs), frozenset(literals)
        self._numbers = NumberSet.build(keys, spans)
        return self._numbers

    # -- alternate constructors ---------------------------------------------------------------

    @classmethod
    def from_intervals(
        cls, intervals: Iterable[tuple[int, int, int]], spcs: Iterable[str] = ()
    ) -> TNAuthList:
        """The canonical list of ``(length, lo, hi)`` number intervals plus SPCs."""
        checked = []
        for i, triple in enumerate(intervals):
            length, lo, hi = triple if len(triple) == 3 else (0, 0, -1)
            if {type(length), type(lo), type(hi)} != {int} or not (
                1 <= length <= MAX_DIGITS and 0 <= lo <= hi < 10**length
            ):
                raise malformed(f"intervals[{i}]", f"{triple!r} is not (length, lo, hi)")
            checked.append((length, lo, hi))
        spc_set = [check_spc(spc, f"spcs[{i}]") for i, spc in enumerate(spcs)]
        return cls._from_scope(spc_set, NumberSet.from_triples(checked), ())

    @classmethod
    def from_der(cls, der: bytes) -> TNAuthList:
        """Decode with :func:`ca.tnauth.codec.decode_strict` (RFC 8226 Appendix A, DER)."""
        from ca.tnauth.codec import decode_strict  # the codec imports this module

        return decode_strict(der)

    @classmethod
    def from_user(
        cls,
        tns: Iterable[str] = (),
        ranges: Iterable[str | tuple[str, int]] = (),
        spcs: Iterable[str] = (),
    ) -> TNAuthList:
        """Parse user input; ranges are ``START:COUNT`` or ``(start, count)`` (RFC 8226 §9)."""
        from ca.tnauth.userinput import parse_user_scope  # keeps parsing rules out of this module

        return parse_user_scope(cls, tns, ranges, spcs)

    @classmethod
    def from_json(
        cls, data: object, field: str = "tn_auth_list", *, strict: bool = True
    ) -> TNAuthList:
        """Parse the :meth:`to_json` form, as given; ``strict`` is the range bound to apply."""
        from ca.tnauth.userinput import parse_json_entries

        return cls(parse_json_entries(data, field, strict=strict))

    # -- views --------------------------------------------------------------------------------

    @property
    def entries(self) -> tuple[Entry, ...]:
        """The entries as given: SPCs as ``str``, ``TelephoneNumber`` and ``TNRange``."""
        if self._entries is None:
            self._entries = self._canonical_entries()
        return self._entries

    @property
    def spcs(self) -> frozenset[str]:
        self._scope()
        return self._spcs

    @property
    def has_numbers(self) -> bool:
        return bool(self._scope()) or bool(self._literals)

    @property
    def number_count(self) -> int:
        """Distinct numbers covered; a literal entry counts as its declared size."""
        numbers = self._scope()
        return numbers.count() + sum(_literal_key(entry)[2] for entry in self._literals)

    def intervals(self) -> Iterator[tuple[int, int, int]]:
        """``(length, lo, hi)`` for the numeric part, merged, by length then value."""
        return iter(self._scope())

    def canonical(self) -> TNAuthList:
        """SPCs sorted, merged numbers by length then value, literals last (STANDARDS §1)."""
        if self._canonical is None:
            numbers = self._scope()
            self._canonical = TNAuthList._from_scope(self._spcs, numbers, self._literals)
        return self._canonical

    def to_der(self) -> bytes:
        """DER of the entries as given; call :meth:`canonical` first when issuing."""
        from ca.tnauth.codec import encode  # the codec imports this module

        # Immutable, so encoded once: issuance needs the bytes for the template and the record.
        if self._der is None:
            self._der = encode(self)
        return self._der

    def to_json(self) -> list[dict[str, Any]]:
        """``[{"spc": ...} | {"one": ...} | {"range": {"start": ..., "count": ...}}]``, as given."""
        out: list[dict[str, Any]] = []
        for entry in self.entries:
            if isinstance(entry, TNRange):
                out.append({"range": {"start": entry.start, "count": entry.count}})
            elif isinstance(entry, TelephoneNumber):
                out.append({"one": entry.value})
            else:
                out.append({"spc": entry})
        return out

    def to_scope_json(self) -> dict[str, Any]:
        """The HTTP API's vocabulary: ``{"tns": [...], "ranges": [{"start", "count"}]}``, plus
        ``"spcs"`` when the list has SPC entries."""
        scope: dict[str, Any] = {"tns": [], "ranges": []}
        for entry in self.entries:
            if isinstance(entry, TNRange):
                scope["ranges"].append({"start": entry.start, "count": entry.count})
            elif isinstance(entry, TelephoneNumber):
                scope["tns"].append(entry.value)
            else:
                scope.setdefault("spcs", []).append(entry)
        return scope

    def describe(self) -> list[str]:
        """Each entry as people type it: ``N``, ``START:COUNT`` (the CLI's --range) or ``spc CODE``."""
        out: list[str] = []
        for entry in self.entries:
            if isinstance(entry, TNRange):
                out.append(f"{entry.start}:{entry.count}")
            elif isinstance(entry, TelephoneNumber):
                out.append(entry.value)
            else:
                out.append(f"spc {entry}")
        return out

    # -- set algebra (union semantics; lengths never mix; literals match only themselves) -----

    def covers(self, tn: str | TelephoneNumber) -> bool:
        """True when ``tn`` is one of the numbers of this list; SPCs cover nothing here."""
        numbers = self._numbers if self._numbers is not None else self._scope()
        if type(tn) is str and tn.isdigit() and len(tn) <= MAX_DIGITS and tn.isascii():
            return numbers.contains(key(len(tn), int(tn)))
        number = tn if isinstance(tn, TelephoneNumber) else TelephoneNumber(check_tn(tn))
        if number.is_literal:
            return number in self._literals
        return numbers.contains(key_of(number))

    def encompasses(self, other: TNAuthList) -> bool:
        """True when every SPC, number and literal of ``other`` is in this list (RFC 9060 §4)."""
        numbers = self._scope()
        other_numbers = other._scope()
        return (
            other._spcs <= self._spcs
            and other._literals <= self._literals
            and numbers.issuperset(other_numbers)
        )

    def union(self, other: TNAuthList) -> TNAuthList:
        mine, theirs = self._scope(), other._scope()
        return TNAuthList._from_scope(
            self._spcs | other._spcs, mine.union(theirs), self._literals | other._literals
        )

    def intersection(self, other: TNAuthList) -> TNAuthList:
        mine, theirs = self._scope(), other._scope()
        return TNAuthList._from_scope(
            self._spcs & other._spcs, mine.intersection(theirs), self._literals & other._literals
        )

    def difference(self, other: TNAuthList) -> TNAuthList:
        mine, theirs = self._scope(), other._scope()
        return TNAuthList._from_scope(
            self._spcs - other._spcs, mine.difference(theirs), self._literals - other._literals
        )

    __or__ = union
    __and__ = intersection
    __sub__ = difference

    # -- dunders ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TNAuthList):
            return NotImplemented
        return (
            self._scope() == other._scope()
            and self._spcs == other._spcs
            and self._literals == other._literals
        )

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self._scope(), self._spcs, self._literals))
        return self._hash

    def __repr__(self) -> str:
        entries = self.entries
        shown = [_entry_repr(entry) for entry in entries[:6]]
        if len(entries) > 6:
            shown.append(f"... {len(entries) - 6} more")
        return f"<TNAuthList([{', '.join(shown)}])>"


def _entry_repr(entry: Entry) -> str:
    if isinstance(entry, TNRange):
        return f"range {entry.start}+{entry.count}"
    if isinstance(entry, TelephoneNumber):
        return f"one {entry.value}"
    return f"spc {entry!r}"


__all__ = ["Entry", "TNAuthList"]
