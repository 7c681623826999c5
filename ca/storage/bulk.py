"""Bulk writes of the registry's repository functions: COPY in text format on PostgreSQL, chunked
INSERTs elsewhere. Shared by every writer that may be handed a bulk post's rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session


def bulk_insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows, a few thousand a statement."""
    for start in range(0, len(rows), 5000):
        session.execute(insert(table), rows[start : start + 5000])


def copying(session: Session, count: int) -> bool:
    """Bulk posts go through COPY on PostgreSQL; a handful of rows through plain INSERTs."""
    return count > 50 and session.get_bind().dialect.name == "postgresql"


def copy_lines(connection: Connection, table: str, columns: str, lines: Iterable[str]) -> None:
    """COPY in text format, each line formatted by the caller: the driver's per-row adaptation
    costs more than the whole server side of a bulk import."""
    cursor = connection.connection.cursor()
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) == 10_000:
                copy.write("\n".join(chunk) + "\n")
                chunk.clear()
        if chunk:
            copy.write("\n".join(chunk) + "\n")
    cursor.close()


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def escape(value: str | None) -> str:
    """COPY text of one value; ``None`` is NULL."""
    return "\\N" if value is None else value.translate(_COPY_ESCAPES)


class Escaped(dict[str, str]):
    """COPY text of identifiers, each escaped once: a bulk post names the same few parties."""

    def __missing__(self, key: str) -> str:
        text = escape(key)
        self[key] = text
        return text


class Times(dict[dt.datetime | None, str]):
    """COPY text of datetimes, each formatted once: a bulk post repeats the same few moments."""

    def __missing__(self, key: dt.datetime | None) -> str:
        text = "\\N" if key is None else key.isoformat()
        self[key] = text
        return text
