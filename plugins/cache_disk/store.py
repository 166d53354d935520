"""The diskcache-backed store: keys namespaced by database, a lock key that expires."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import diskcache

from kernel.api import KernelAPI
from plugins.cache_common import CachePlugin, Entry, database_namespace


def cache_directory(settings: Any) -> Path:
    """``cache.directory``; empty: ``cache`` beside ``batch.workdir`` (``.batchkernel/cache``)."""
    configured = str(settings.cache.directory)
    if configured:
        return Path(configured).expanduser()
    return Path(str(settings.batch.workdir)).expanduser().parent / "cache"


class DiskStore:
    """One database's entry, generation and fill lock in a shared diskcache directory."""

    def __init__(self, directory: Path, namespace: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.cache = diskcache.Cache(str(directory))
        self.key = f"{namespace}:companies"
        self.generation_key = f"{namespace}:generation"
        self.lock_key = f"{namespace}:fill-lock"

    def read(self) -> Entry | None:
        """The stored entry, or ``None``."""
        return Entry.from_data(self.cache.get(self.key))

    def generation(self) -> int:
        """The current invalidation count."""
        return int(self.cache.get(self.generation_key, 0))

    def write(self, entry: Entry, generation: int, expire_seconds: float) -> bool:
        """Store ``entry`` if no invalidation happened since ``generation`` was read (atomic)."""
        with self.cache.transact():
            if self.generation() != generation:
                return False
            self.cache.set(self.key, entry.to_data(), expire=expire_seconds)
        return True

    def invalidate(self) -> None:
        """Bump the generation and drop the entry in one transaction."""
        with self.cache.transact():
            self.cache.incr(self.generation_key, default=0)
            self.cache.delete(self.key)

    def try_lock(self, seconds: float) -> str | None:
        """Add the lock key with an expiry (atomic ``add``); a token, or ``None`` if held."""
        token = secrets.token_hex(8)
        return token if self.cache.add(self.lock_key, token, expire=seconds) else None

    def unlock(self, token: Any) -> None:
        """Delete the lock key if it still holds ``token``."""
        with self.cache.transact():
            if self.cache.get(self.lock_key) == token:
                self.cache.delete(self.lock_key)

    def close(self) -> None:
        """Close the diskcache's SQLite connections."""
        self.cache.close()


class DiskCache(CachePlugin):
    """Cache plugin ``cache-disk``."""

    backend = "disk"

    def open_store(self, kernel: KernelAPI) -> DiskStore:
        """The store in ``cache.directory``, namespaced by ``database.url``."""
        settings = kernel.settings
        return DiskStore(cache_directory(settings), database_namespace(str(settings.database.url)))
