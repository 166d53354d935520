"""The ``[cache]`` settings every cache backend shares, and the per-database key namespace."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url


@dataclass(frozen=True, slots=True)
class CacheConfig:
    """TTL, refresh-ahead point and single-flight timings, read once from ``cache.*``."""

    ttl_seconds: float
    refresh_ahead: float
    fill_wait_seconds: float
    lock_seconds: float

    @property
    def refresh_after_seconds(self) -> float:
        """Age from which a hit also starts a background refresh (``refresh_ahead`` of the TTL)."""
        return self.ttl_seconds * self.refresh_ahead

    @classmethod
    def from_settings(cls, settings: Any) -> CacheConfig:
        """Build from the ``cache`` section (declared, so every key is present and valid)."""
        section = settings.cache
        return cls(
            ttl_seconds=float(section.ttl_seconds),
            refresh_ahead=float(section.refresh_ahead),
            fill_wait_seconds=float(section.fill_wait_seconds),
            lock_seconds=float(section.lock_seconds),
        )


def database_namespace(url: str) -> str:
    """A short hash naming one database, so two databases never share cache entries.

    Spellings of the same database agree: the driver suffix and the password are left out and a
    SQLite file path is made absolute (a relative path depends on the working directory).
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    database = parsed.database or ""
    if backend == "sqlite" and database and database != ":memory:":
        database = str(Path(database).expanduser().resolve())
    query = "&".join(f"{key}={parsed.query[key]}" for key in sorted(parsed.query))
    identity = (
        f"{backend}://{parsed.username or ''}@{parsed.host or ''}:{parsed.port or ''}"
        f"/{database}?{query}"
    )
    return hashlib.sha256(identity.encode()).hexdigest()[:16]
