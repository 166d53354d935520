"""The command line's logging on stderr: text with UTC timestamps or one JSON object a line; the
level from the command line, else the ``log`` settings. Libraries stay at WARNING."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
LOGGER = "batchkernel"
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class _State:
    """What the command line chose (None: the settings decide)."""

    level: str | None = None
    format: str = "text"


_state = _State()


class TextFormatter(logging.Formatter):
    """``2025-01-31T12:00:00.123Z INFO    batchkernel.run: message`` (UTC timestamps)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """ISO 8601 in UTC with milliseconds."""
        return _iso(record.created)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the record's ``fields``, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON."""
        data: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            data.update({key: value for key, value in fields.items() if key not in data})
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


def _iso(created: float) -> str:
    """A timestamp as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    return datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class OnceFilter(logging.Filter):
    """Lets a plugin-loading warning through once (the command line's plugin manager and the
    command's kernel would both give it)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a repeated warning of the plugin manager."""
        if record.name != "batchkernel.plugins" or record.levelno < logging.WARNING:
            return True
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


def configure(level: str | None, fmt: str = "text") -> None:
    """Install the stderr handler; ``level`` from the command line (None: the settings decide)."""
    _state.level = level
    _state.format = fmt
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "batchkernel", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.batchkernel = True  # type: ignore[attr-defined]
    handler.addFilter(OnceFilter())
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    _apply(level or "info", fmt)


def _apply(level: str, fmt: str) -> None:
    """Set batchkernel's level and the handler's format."""
    logging.getLogger(LOGGER).setLevel(level.upper())
    formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    for handler in logging.getLogger().handlers:
        if getattr(handler, "batchkernel", False):
            handler.setFormatter(formatter)


def apply_log_settings(settings: Any) -> None:
    """Apply ``log.level`` (unless the command line chose one), ``log.format`` and, with
    ``plugins.trace``, the plugin manager's debug log of hook calls."""
    section = settings.get("log") or {}
    level = _state.level or str(section.get("level", "info"))
    _apply(level, str(section.get("format", _state.format)))
    if settings.plugins.get("trace"):
        logging.getLogger("batchkernel.plugins").setLevel(logging.DEBUG)
