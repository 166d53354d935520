"""The ``cache-memory`` plugin: the company cache inside one process (no sharing, no files).

Invalidation reaches only this process: a ``batchkernel companies set-status`` run in another
process is seen here within the TTL. Use ``cache-disk`` or ``cache-redis`` to share.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from kernel.api import KernelAPI
from plugins.cache_common import CachePlugin, Entry


class MemoryStore:
    """The entry, its generation and the fill lock as attributes guarded by a thread lock."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._fill = threading.Lock()
        self._entry: Entry | None = None
        self._generation = 0
        self._token: str | None = None

    def read(self) -> Entry | None:
        """The stored entry, or ``None``."""
        with self._guard:
            return self._entry

    def generation(self) -> int:
        """The current invalidation count."""
        with self._guard:
            return self._generation

    def write(self, entry: Entry, generation: int, expire_seconds: float) -> bool:
        """Store ``entry`` if no invalidation happened since ``generation`` was read."""
        with self._guard:
            if generation != self._generation:
                return False
            self._entry = entry
            return True

    def invalidate(self) -> None:
        """Bump the generation and drop the entry."""
        with self._guard:
            self._generation += 1
            self._entry = None

    def try_lock(self, seconds: float) -> str | None:
        """Take the fill lock without waiting (held until released: holders always release)."""
        if not self._fill.acquire(blocking=False):
            return None
        token = secrets.token_hex(8)
        with self._guard:
            self._token = token
        return token

    def unlock(self, token: Any) -> None:
        """Release the fill lock if ``token`` holds it."""
        with self._guard:
            if self._token != token:
                return
            self._token = None
        self._fill.release()

    def close(self) -> None:
        """Nothing to release."""


class MemoryCache(CachePlugin):
    """Cache plugin ``cache-memory``."""

    backend = "memory"

    def open_store(self, kernel: KernelAPI) -> MemoryStore:
        """A fresh in-process store."""
        return MemoryStore()
