"""Timestamps and int64 values in proto3 JSON form."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(seconds: float) -> str:
    """``2025-01-01T00:00:00.123456Z``."""
    stamp = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="microseconds")
    return stamp.replace("+00:00", "Z")


def int64(value: int) -> str:
    """proto3 JSON writes int64 as a string."""
    return str(int(value))
