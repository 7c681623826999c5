"""Durations (``24h``, ``7d``) and moments (ISO-8601 or ``+<n>s|m|h|d``) as people type them."""

from __future__ import annotations

import datetime as dt
import re

from ca.errors import malformed

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_LONGEST = 1000 * 366 * 86400


def parse_duration(text: str, field: str = "duration") -> dt.timedelta:
    """Parse ``<n>s|m|h|d`` into a positive timedelta."""
    match = _DURATION.match(str(text))
    if not match:
        raise malformed(field, f"{text!r} is not a duration: write <n>s, <n>m, <n>h or <n>d")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise malformed(field, f"{text!r} must be longer than zero")
    if seconds > _LONGEST:
        raise malformed(field, f"{text!r} is out of range (longer than 1000 years)")
    return dt.timedelta(seconds=seconds)


def format_duration(delta: dt.timedelta) -> str:
    """The inverse of parse_duration for whole units."""
    seconds = int(delta.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def parse_when(text: str, now: dt.datetime, field: str = "when") -> dt.datetime:
    """Parse ISO-8601 (naive means UTC) or ``+<n>s|m|h|d`` / ``-<n>s|m|h|d`` relative to ``now``."""
    text = str(text).strip()
    try:
        if text.startswith("+"):
            return now + parse_duration(text[1:], field)
        if text.startswith("-"):
            return now - parse_duration(text[1:], field)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC)
    except ValueError:
        raise malformed(
            field, f"{text!r} is neither ISO-8601 nor +<n>s|m|h|d or -<n>s|m|h|d"
        ) from None
    except OverflowError:
        raise malformed(field, f"{text!r} is out of range of the calendar") from None
