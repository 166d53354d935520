"""Thread-safe lookup counters behind the ``cache`` status section and the hit rate.

Accounting: a lookup answered from the cache is a hit (also when it waited for another caller's
fill, counted again as ``coalesced``); a lookup that went to the database is a miss; a background
refresh-ahead read is a refresh. So hit rate = hits / (hits + misses) and database reads =
misses + refreshes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CacheStats:
    """Cumulative counts of one cache plugin instance (one process)."""

    hits: int = 0
    misses: int = 0
    refreshes: int = 0
    coalesced: int = 0
    invalidations: int = 0
    errors: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        """Add to the named counters at once."""
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    @property
    def hit_rate(self) -> float | None:
        """hits / (hits + misses); ``None`` before the first lookup."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else None

    @property
    def database_reads(self) -> int:
        """How many times the cache let a caller (miss) or itself (refresh) read the database."""
        return self.misses + self.refreshes

    def section(self, backend: str, ttl_seconds: float) -> dict[str, Any]:
        """The ``cache`` status section."""
        with self._lock:
            return {
                "backend": backend,
                "hits": self.hits,
                "misses": self.misses,
                "refreshes": self.refreshes,
                "hit_rate": self.hit_rate,
                "database_reads": self.database_reads,
                "coalesced": self.coalesced,
                "invalidations": self.invalidations,
                "errors": self.errors,
                "ttl_seconds": ttl_seconds,
            }
