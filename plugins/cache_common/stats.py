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


def _number(value: Any) -> bool:
    """True for an int or float (a count some other version wrote may be missing)."""
    return isinstance(value, int | float)


def merge_sections(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Several instances' ``cache`` sections as one: counts summed, the hit rate recomputed from
    the sums, backends listed; anything else from the newest instance (the first part)."""
    merged = dict(parts[0])
    if all(_number(p.get("hits")) and _number(p.get("misses")) for p in parts):
        hits = sum(p["hits"] for p in parts)
        misses = sum(p["misses"] for p in parts)
        merged.update(hits=hits, misses=misses)
        merged["hit_rate"] = hits / (hits + misses) if hits + misses else None
    for key in ("refreshes", "database_reads", "coalesced", "invalidations", "errors"):
        if all(_number(p.get(key)) for p in parts):
            merged[key] = sum(p[key] for p in parts)
    backends = sorted({str(p["backend"]) for p in parts if p.get("backend") is not None})
    if backends:
        merged["backend"] = ", ".join(backends)
    return merged
