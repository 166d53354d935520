"""Short critical sections shared by every instance, inside one database transaction."""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import func, select


def exclusive(session: Any, db: Any, name: str) -> None:
    """Hold the lock ``name`` until the session's transaction ends.

    PostgreSQL: a transaction-level advisory lock (``pg_advisory_xact_lock``), so instances
    queue for it and each one reads what the previous one committed. SQLite: every transaction
    already begins ``IMMEDIATE`` and holds the only write lock, so nothing more is needed.
    """
    if db.is_postgres:
        key = zlib.crc32(f"batchkernel:{name}".encode())
        session.execute(select(func.pg_advisory_xact_lock(key)))
