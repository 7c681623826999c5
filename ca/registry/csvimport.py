"""Bulk assignment import (``delegato assign --csv FILE``): every row checked, all or nothing.

The file has a header row naming its columns (any order, any case):

    authority,enterprise,tn,range,expires_at,valid_from,evidence
    org-1a2b3c4d5e6f,org-0f9e8d7c6b5a,12025550100,,2027-01-01T00:00:00Z,,LOA-2291
    org-1a2b3c4d5e6f,org-0f9e8d7c6b5a,,12025550200:50,+90d,,order 7781

Each row is one assignment of one number (``tn``) or one range (``range`` = START:COUNT).
``authority`` and ``enterprise`` may be left out of the file when given on the command line.
A bad row is reported with its line number and the rule; nothing of a refused file is written;
importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ca.durations import parse_when
from ca.errors import CAError, ErrorKind, SubProblem, malformed
from ca.registry.grants import GrantRequest
from ca.tnauth import normalize_tn
from ca.tnauth.numbers import range_bound_error

COLUMNS = ("authority", "enterprise", "tn", "range", "expires_at", "valid_from", "evidence")
MAX_ROWS = 2_000_000
_REPORTED = 20


@dataclass(frozen=True)
class ParsedFile:
    requests: list[GrantRequest]
    sha256: str


class _RowError(Exception):
    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field
        self.detail = detail


def parse_csv(
    data: bytes,
    now: dt.datetime,
    *,
    authority: str | None = None,
    enterprise: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ParsedFile:
    """Parse and check every row; raise one MALFORMED error listing the bad rows (by line)."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise malformed("csv", f"line {line}: is not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = _next_row(reader)
    if header is None:
        raise malformed("csv", "the file is empty; the first line names the columns")
    columns = _columns(header, authority, enterprise)
    parser = _RowParser(columns, now, authority, enterprise)
    requests: list[GrantRequest] = []
    errors: list[SubProblem] = []
    reported = 0
    while True:
        line = reader.line_num + 1  # where the row starts (a quoted cell may span lines)
        row = _next_row(reader)
        if row is None:
            break
        if progress is not None and reader.line_num - reported >= 10_000:
            progress(reader.line_num - reported)
            reported = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(requests) >= MAX_ROWS:
            raise malformed("csv", f"at most {MAX_ROWS:,} rows in one import")
        try:
            requests.append(parser.parse(row, line))
        except _RowError as error:
            errors.append(
                SubProblem(f"line {line}: {error.field}: {error.detail}", error.field, str(line))
            )
    if errors:
        shown = "; ".join(e.detail for e in errors[:3])
        raise CAError(
            ErrorKind.MALFORMED,
            f"{len(errors)} bad row(s), nothing imported: {shown}"
            + (" ..." if len(errors) > 3 else ""),
            field="csv",
            subproblems=errors[:_REPORTED],
        )
    if not requests:
        raise malformed("csv", "the file has a header but no rows")
    return ParsedFile(requests, digest)


def _next_row(reader: Iterator[list[str]]) -> list[str] | None:
    """The next row, or None at the end; the csv module's own refusals become MALFORMED."""
    try:
        return next(reader, None)
    except csv.Error as exc:
        line = getattr(reader, "line_num", 0)
        raise malformed("csv", f"line {line}: {exc}") from None


def _columns(header: list[str], authority: str | None, enterprise: str | None) -> dict[str, int]:
    names = [cell.strip().lower() for cell in header]
    unknown = [repr(n) for n in names if n not in COLUMNS]
    if unknown:
        raise malformed(
            "csv", f"line 1: unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}"
        )
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise malformed("csv", f"line 1: column(s) named twice: {', '.join(twice)}")
    columns = {name: i for i, name in enumerate(names)}
    needed = [
        ("expires_at", True),
        ("authority", authority is None),
        ("enterprise", enterprise is None),
    ]
    missing = [name for name, required in needed if required and name not in columns]
    if "tn" not in columns and "range" not in columns:
        missing.append("tn or range")
    if missing:
        raise malformed("csv", f"line 1: missing column(s): {', '.join(missing)}")
    return columns


class _RowParser:
    def __init__(
        self,
        columns: dict[str, int],
        now: dt.datetime,
        authority: str | None,
        enterprise: str | None,
    ) -> None:
        self._columns = columns
        self._now = now
        self._authority = authority
        self._enterprise = enterprise
        self._moments: dict[str, dt.datetime] = {}  # a file repeats the same few dates

    def _cell(self, row: list[str], name: str) -> str:
        index = self._columns.get(name)
        return row[index].strip() if index is not None and index < len(row) else ""

    def parse(self, row: list[str], line: int) -> GrantRequest:
        if len(row) > len(self._columns):
            raise _RowError("csv", f"{len(row)} cells where the header names {len(self._columns)}")
        authority = self._cell(row, "authority") or self._authority
        enterprise = self._cell(row, "enterprise") or self._enterprise
        if not authority:
            raise _RowError("authority", "is empty (and no --authority was given)")
        if not enterprise:
            raise _RowError("enterprise", "is empty (and no --enterprise was given)")
        tn, rng = self._cell(row, "tn"), self._cell(row, "range")
        if bool(tn) == bool(rng):
            raise _RowError("tn", "give exactly one of tn or range")
        interval = _number(tn) if tn else _range(rng)
        expires = self._moment(self._cell(row, "expires_at"), "expires_at", required=True)
        valid_from = self._moment(self._cell(row, "valid_from"), "valid_from", required=False)
        assert expires is not None
        evidence = self._cell(row, "evidence")
        if len(evidence) > 500 or not evidence.isprintable():
            raise _RowError("evidence", "must be at most 500 printable characters")
        if expires <= self._now:
            raise _RowError("expires_at", f"{expires.isoformat()} is not in the future")
        if valid_from is not None and expires <= valid_from:
            raise _RowError("expires_at", "must be after valid_from")
        return GrantRequest(
            authority, enterprise, (interval,), expires, valid_from, evidence, f"line {line}: "
        )

    def _moment(self, text: str, field: str, *, required: bool) -> dt.datetime | None:
        if not text:
            if required:
                raise _RowError(field, "is empty")
            return None
        moment = self._moments.get(text)
        if moment is None:
            try:
                moment = parse_when(text, self._now, field)
            except CAError as error:
                raise _RowError(field, error.detail) from None
            except (OverflowError, ValueError):  # past year 9999, or +<huge>d
                raise _RowError(field, f"{text!r} is out of range") from None
            self._moments[text] = moment
        return moment


def _digits(text: str, field: str) -> str:
    if text.isdigit() and text.isascii() and len(text) <= 15:
        return text
    try:
        value = normalize_tn(text, field)
    except CAError as error:
        raise _RowError(field, error.detail) from None
    if not value.isdigit():
        raise _RowError(field, "the registry holds digits only ('*' and '#' cannot be assigned)")
    return value


def _number(text: str) -> tuple[int, int, int]:
    value = _digits(text, "tn")
    return len(value), int(value), int(value)


def _range(text: str) -> tuple[int, int, int]:
    start_text, sep, count_text = text.partition(":")
    if not sep:
        raise _RowError("range", f"{text!r} is not START:COUNT")
    start = _digits(start_text.strip(), "range")
    count_text = count_text.strip()
    if not count_text.isdigit() or not count_text.isascii():
        raise _RowError("range", f"count {count_text!r} is not a whole number")
    count = int(count_text)
    if count < 2:
        raise _RowError("range", "count must be at least 2 (a single number is a tn)")
    problem = range_bound_error(start, count, strict=True)
    if problem:
        raise _RowError("range", problem)
    return len(start), int(start), int(start) + count - 1


def write_csv(rows: Iterable[dict[str, str]]) -> str:
    """The import format, for exports and tests."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in COLUMNS})
    return out.getvalue()
