"""What a cache backend stores and the small interface each backend implements.

Values are plain data (a timestamp and ``(id, name, providers)`` rows), never pickled domain objects, so
every process and machine can read them; :class:`kernel.types.Company` is rebuilt on the way out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kernel.types import Company


@dataclass(frozen=True, slots=True)
class Entry:
    """The cached ACTIVE companies (id, name, own provider list) and when the database read
    behind them started (cache clock)."""

    stored_at: float
    companies: tuple[tuple[str, str, tuple[str, ...]], ...]

    @classmethod
    def of(cls, stored_at: float, companies: Sequence[Company]) -> Entry:
        """An entry for a processor's answer."""
        return cls(float(stored_at), tuple((c.id, c.name, tuple(c.providers)) for c in companies))

    def to_data(self) -> dict[str, Any]:
        """Plain, JSON-ready data."""
        return {
            "stored_at": self.stored_at,
            "companies": [[cid, name, list(providers)] for cid, name, providers in self.companies],
        }

    @classmethod
    def from_data(cls, data: Any) -> Entry | None:
        """Read :meth:`to_data` output back; anything else (an old format) is treated as absent."""
        if not isinstance(data, dict):
            return None
        try:
            rows = tuple(
                (str(cid), str(name), tuple(str(p) for p in providers))
                for cid, name, providers in data["companies"]
            )
            return cls(float(data["stored_at"]), rows)
        except (KeyError, TypeError, ValueError):
            return None

    def to_companies(self) -> list[Company]:
        """Fresh ``Company`` objects (callers may keep or change the list)."""
        return [
            Company(id=cid, name=name, providers=providers)
            for cid, name, providers in self.companies
        ]


class Store(Protocol):
    """One backend's view of one database's cache key, its generation and its fill lock.

    The generation counts invalidations: a fill records it before querying the database and
    :meth:`write` stores only if no invalidation happened since, so a read that raced a change
    can never put the old list back.
    """

    def read(self) -> Entry | None:
        """The stored entry, or ``None``."""

    def generation(self) -> int:
        """The current invalidation count."""

    def write(self, entry: Entry, generation: int, expire_seconds: float) -> bool:
        """Store ``entry`` if ``generation`` is still current; True if stored."""

    def invalidate(self) -> None:
        """Bump the generation and drop the entry (atomically for shared stores)."""

    def try_lock(self, seconds: float) -> Any | None:
        """Take the fill lock without waiting; a token to unlock with, or ``None`` if held.

        Shared stores let the lock expire after ``seconds`` so a crashed holder cannot block.
        """

    def unlock(self, token: Any) -> None:
        """Release the fill lock taken with ``token`` (no-op if it expired meanwhile)."""

    def close(self) -> None:
        """Release connections or files."""
