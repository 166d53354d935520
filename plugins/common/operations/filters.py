"""Filters shared by the listings: company, state, task, provider, since, batch; parsed from
what a person types (``failed``, ``2h``, ``2026-11-01``) with errors that list the valid values."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kernel.types import BatchStatus
from plugins.common.schema.statuses import RequestStatus

REQUEST_ALIASES = {
    "pending": RequestStatus.PENDING_BATCHING.value,
    "in_flight": RequestStatus.BATCHING_IN_PROGRESS.value,
    "complete": RequestStatus.PROCESSING_COMPLETE.value,
    "failed": RequestStatus.PROCESSING_FAILED.value,
}
_AGO = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_PAGE_SIZE = 500


class FilterError(ValueError):
    """A filter or page value that cannot be used; the message says what is valid."""


@dataclass(frozen=True, slots=True)
class Filters:
    """What a listing is limited to; ``None`` means no limit on that field."""

    company: str | None = None
    state: str | None = None
    task: str | None = None
    provider: str | None = None
    since: datetime | None = None
    batch: str | None = None

    def describe(self) -> str:
        """The filters as ``name=value`` words (for audit rows and messages)."""
        parts = [
            f"{name}={value.isoformat() if isinstance(value, datetime) else value}"
            for name in ("company", "state", "task", "provider", "since", "batch")
            if (value := getattr(self, name)) is not None
        ]
        return " ".join(parts) or "everything"


def request_state(value: str | None) -> str | None:
    """A request state from its name or short alias (``pending``, ``in_flight``, ``complete``,
    ``failed``), case-insensitive."""
    if value is None or value == "":
        return None
    key = value.strip()
    if key.lower() in REQUEST_ALIASES:
        return REQUEST_ALIASES[key.lower()]
    if key.upper() in RequestStatus.__members__:
        return key.upper()
    valid = ", ".join([*REQUEST_ALIASES, *RequestStatus.__members__])
    raise FilterError(f"unknown request state {value!r}; valid: {valid}")


def batch_state(value: str | None) -> str | None:
    """A batch state by name, case-insensitive (``in_progress``, ``APPLIED``...)."""
    if value is None or value == "":
        return None
    if value.strip().upper() in BatchStatus.__members__:
        return value.strip().upper()
    valid = ", ".join(s.lower() for s in BatchStatus.__members__)
    raise FilterError(f"unknown batch state {value!r}; valid: {valid}")


def since(value: str | None, now: datetime | None = None) -> datetime | None:
    """A moment from an ISO date or time (UTC unless it names a zone) or an age such as ``30m``,
    ``2h``, ``7d``."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    ago = _AGO.match(text.lower())
    if ago:
        delta = timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
        return (now or datetime.now(UTC)) - delta
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(
            f"since {value!r} is neither a date (2026-11-01, 2026-11-01T09:00Z) nor an age "
            "(30m, 2h, 7d)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def page_number(value: Any, name: str = "page", high: int = 1_000_000) -> int:
    """A whole number from 1 to ``high``."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= high:
        raise FilterError(f"{name} must be a whole number from 1 to {high:,}")
    return number


def text_value(value: str | None, name: str, length: int = 255) -> str | None:
    """A plain identifier-like filter value: not empty, no control characters, not too long."""
    if value is None or value == "":
        return None
    if len(value) > length or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise FilterError(f"{name} must be at most {length} printable characters")
    return value
