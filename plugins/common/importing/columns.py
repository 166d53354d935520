"""Import fields normalised, then checked against the columns that store them.

Limits come from the SQLAlchemy models (``String(255).length``, ``Integer``'s range), so the
importer refuses exactly what the database would refuse, on SQLite (which enforces no length) as
on PostgreSQL, and a changed model changes the check with it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, SmallInteger, String

_INTEGER_BITS = ((BigInteger, 64), (SmallInteger, 16), (Integer, 32))


def normalise(value: str) -> str:
    """Drop NUL characters, which PostgreSQL text cannot hold; keep everything else."""
    return value.replace("\x00", "")


def max_length(column: Column[Any]) -> int | None:
    """The most characters ``column`` holds, or None when its type sets no limit."""
    return column.type.length if isinstance(column.type, String) else None


def integer_range(column: Column[Any]) -> tuple[int, int] | None:
    """The smallest and largest value ``column`` holds, or None for a non-integer column."""
    for kind, bits in _INTEGER_BITS:
        if isinstance(column.type, kind):
            return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return None


def fits(value: str, column: Column[Any], field: str) -> str:
    """``value`` if it fits ``column``; ValueError naming the field, its length and the limit."""
    limit = max_length(column)
    if limit is not None and len(value) > limit:
        raise ValueError(
            f"field {field!r} has {len(value)} characters; at most {limit} fit (shorten it)"
        )
    return value


def text(value: Any, column: Column[Any], field: str, *, strip: bool = False) -> str:
    """A string field, normalised (and trimmed if asked), that fits its column."""
    if not isinstance(value, str):
        raise ValueError(f"field {field!r} must be a string")
    cleaned = normalise(value)
    return fits(cleaned.strip() if strip else cleaned, column, field)


def identifier(value: Any, column: Column[Any], field: str) -> str:
    """An identifier: normalised and trimmed first, then non-empty and fitting its column."""
    if not isinstance(value, str):
        raise ValueError(f"field {field!r} must be a non-empty string")
    cleaned = normalise(value).strip()
    if not cleaned:
        raise ValueError(
            f"field {field!r} is empty once NUL characters and surrounding spaces are removed"
        )
    return fits(cleaned, column, field)


def integer(value: int, column: Column[Any], what: str) -> int:
    """``value`` if ``column``'s integer type holds it; ValueError otherwise."""
    bounds = integer_range(column)
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"{what} is {value}; the database holds at most {bounds[1]}")
    return value


def timestamp(value: Any, field: str) -> datetime:
    """An ISO 8601 timestamp in UTC (a timestamp without offset is UTC already)."""
    if not isinstance(value, str):
        raise ValueError(f"field {field!r} must be an ISO 8601 string")
    cleaned = normalise(value).strip()
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"field {field!r}: {cleaned!r} is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"field {field!r}: {cleaned!r} is out of range in UTC") from None
