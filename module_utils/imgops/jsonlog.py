"""Structured logging: one JSON object per line on stderr.

Under systemd (``JOURNAL_STREAM`` set) each line carries a ``<N>`` syslog
priority prefix, which journald strips and indexes as the entry's priority.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from .masking import mask

LOGGER_NAME = "imgops"
_SYSLOG_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


class JsonLineFormatter(logging.Formatter):
    """Render a record as ``{"ts", "level", "event", ...fields}``."""

    def __init__(self, priority_prefix: bool) -> None:
        super().__init__()
        self.priority_prefix = priority_prefix

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        payload.update(getattr(record, "fields", {}))
        line = mask(json.dumps(payload, default=str, ensure_ascii=False))
        if self.priority_prefix:
            line = f"<{_SYSLOG_PRIORITY.get(record.levelno, 6)}>{line}"
        return line


def configure(level: int = logging.INFO, stream: Any = None) -> logging.Logger:
    """Install the JSON handler on the imgops logger (idempotent)."""
    logger = logging.getLogger(LOGGER_NAME)
    stream = stream or sys.stderr
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter(priority_prefix="JOURNAL_STREAM" in os.environ))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return logger


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with structured fields."""
    logging.getLogger(LOGGER_NAME).log(level, event, extra={"fields": fields})
