"""JSON structured logs: one object per line, for the server, the jobs process and the CLI's
long-running commands. Fields are chosen by the caller (``extra=``), never dumped wholesale."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import IO, Any

#: Attributes every LogRecord has; anything else passed in ``extra`` is a structured field.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, pid, message, and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,  # which gunicorn worker (or the jobs process) wrote it
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(stream: IO[str] | None = None, level: int = logging.INFO) -> None:
    """Send ``delegato.*`` loggers to ``stream`` (stderr) as JSON lines; quiet the scheduler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JSONFormatter())
    for name, lvl in (("delegato", level), ("apscheduler", logging.WARNING)):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(lvl)
        logger.propagate = False
