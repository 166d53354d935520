"""How many rows an UPDATE or DELETE run through a session matched."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result


def rowcount(result: Result[Any]) -> int:
    """Rows matched by the UPDATE or DELETE behind ``result`` (a ``CursorResult``, typed plain)."""
    return cast("CursorResult[Any]", result).rowcount
