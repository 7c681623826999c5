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
import operator
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ca.durations import parse_when
from ca.errors import CAError, ErrorKind, SubProblem, malformed
from ca.registry.grants import paused_gc
from ca.registry.posts import GrantRequest
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
    with paused_gc():
        requests, errors = _parse_rows(reader, parser, progress)
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


def _parse_rows(
    reader: Any, parser: _RowParser, progress: Callable[[int], None] | None
) -> tuple[list[GrantRequest], list[SubProblem]]:
    """Every row after the header: the good ones as requests, the bad ones as problems."""
    parse = parser.parse
    requests: list[GrantRequest] = []
    errors: list[SubProblem] = []
    reported = 0
    line = reader.line_num + 1  # where the next row starts (a quoted cell may span lines)
    try:
        for row in reader:
            start, line = line, reader.line_num + 1
            if progress is not None and reader.line_num - reported >= 10_000:
                progress(reader.line_num - reported)
                reported = reader.line_num
            if not "".join(row).strip():
                continue
            if len(requests) >= MAX_ROWS:
                raise malformed("csv", f"at most {MAX_ROWS:,} rows in one import")
            try:
                requests.append(parse(row, start))
            except _RowError as error:
                problem = f"line {start}: {error.field}: {error.detail}"
                errors.append(SubProblem(problem, error.field, str(start)))
    except csv.Error as exc:
        raise malformed("csv", f"line {reader.line_num}: {exc}") from None
    return requests, errors


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
    """Checks one row at a time. Written for a million rows: the cells are picked with one
    itemgetter, and a file's few distinct moments are parsed once each."""

    def __init__(
        self,
        columns: dict[str, int],
        now: dt.datetime,
        authority: str | None,
        enterprise: str | None,
    ) -> None:
        self._width = len(columns)
        # A short row is padded with empty cells; a column the header lacks reads the last one.
        self._padding = [""] * (self._width + 1)
        self._pick = operator.itemgetter(*(columns.get(name, self._width) for name in COLUMNS))
        self._now = now
        self._authority = authority
        self._enterprise = enterprise
        self._moments: dict[str, dt.datetime] = {}  # a file repeats the same few dates

    def parse(self, row: list[str], line: int) -> GrantRequest:
        if len(row) > self._width:
            raise _RowError("csv", f"{len(row)} cells where the header names {self._width}")
        cells = self._pick(row + self._padding[len(row) :])
        authority = cells[0].strip() or self._authority
        enterprise = cells[1].strip() or self._enterprise
        if not authority:
            raise _RowError("authority", "is empty (and no --authority was given)")
        if not enterprise:
            raise _RowError("enterprise", "is empty (and no --enterprise was given)")
        tn, rng = cells[2].strip(), cells[3].strip()
        if bool(tn) == bool(rng):
            raise _RowError("tn", "give exactly one of tn or range")
        interval = _number(tn) if tn else _range(rng)
        expires = self._moment(cells[4].strip(), "expires_at")
        if expires is None:
            raise _RowError("expires_at", "is empty")
        valid_from = self._moment(cells[5].strip(), "valid_from")
        evidence = cells[6].strip()
        if len(evidence) > 500 or not evidence.isprintable():
            raise _RowError("evidence", "must be at most 500 printable characters")
        if expires <= self._now:
            raise _RowError("expires_at", f"{expires.isoformat()} is not in the future")
        if valid_from is not None and expires <= valid_from:
            raise _RowError("expires_at", "must be after valid_from")
        return GrantRequest(
            authority, enterprise, (interval,), expires, valid_from, evidence, f"line {line}: "
        )

    def _moment(self, text: str, field: str) -> dt.datetime | None:
        moment = self._moments.get(text)
        if moment is not None or not text:
            return moment
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
    number = int(value)
    return len(value), number, number


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
    first = int(start)
    if first + count >= 10 ** len(start):  # see range_bound_error
        raise _RowError("range", range_bound_error(start, count, strict=True) or "out of range")
    return len(start), first, first + count - 1


def write_csv(rows: Iterable[dict[str, str]]) -> str:
    """The import format, for exports and tests."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in COLUMNS})
    return out.getvalue()
