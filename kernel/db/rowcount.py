"""How many rows an UPDATE or DELETE run through a session matched."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result


def rowcount(result: Result[Any]) -> int:
    """Rows matched by the DML statement that produced ``result``.

    ``Session.execute`` is typed to return a plain ``Result``; for an UPDATE or DELETE it is a
    ``CursorResult``, which carries the count.
    """
    return cast("CursorResult[Any]", result).rowcount
