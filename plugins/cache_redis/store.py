"""The Redis store: JSON entries, a generation counter, a ``SET NX PX`` fill lock."""

from __future__ import annotations

import contextlib
from typing import Any

import orjson

from kernel.api import KernelAPI
from kernel.types import PluginLoadError
from plugins.cache_common import CachePlugin, Entry, database_namespace

WRITE_IF_CURRENT = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1
"""
"""Store the entry only if the generation is unchanged (atomic on the server)."""

TIMEOUT_SECONDS = 2.0


def load_redis() -> Any:
    """Import the ``redis`` client, or say which extra provides it."""
    try:
        import redis
    except ImportError as exc:
        raise PluginLoadError(
            "cache-redis needs the redis package: pip install 'batchkernel[redis]'"
        ) from exc
    return redis


class RedisStore:
    """One database's entry, generation and fill lock under ``<key_prefix>:<namespace>:``."""

    def __init__(self, url: str, prefix: str, namespace: str) -> None:
        redis = load_redis()
        self.client = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )
        self.lock_error = redis.exceptions.LockError
        base = f"{prefix}:{namespace}"
        self.key = f"{base}:companies"
        self.generation_key = f"{base}:generation"
        self.lock_key = f"{base}:fill-lock"
        self._write = self.client.register_script(WRITE_IF_CURRENT)

    def read(self) -> Entry | None:
        """The stored entry, or ``None``."""
        raw = self.client.get(self.key)
        return Entry.from_data(orjson.loads(raw)) if raw else None

    def generation(self) -> int:
        """The current invalidation count."""
        return int(self.client.get(self.generation_key) or 0)

    def write(self, entry: Entry, generation: int, expire_seconds: float) -> bool:
        """Store ``entry`` with a TTL if the generation is still ``generation`` (a Lua script)."""
        stored = self._write(
            keys=[self.generation_key, self.key],
            args=[
                str(generation),
                orjson.dumps(entry.to_data()),
                max(1, int(expire_seconds * 1000)),
            ],
        )
        return bool(stored)

    def invalidate(self) -> None:
        """INCR the generation and DEL the entry in one MULTI/EXEC."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(self.generation_key)
            pipe.delete(self.key)
            pipe.execute()

    def try_lock(self, seconds: float) -> Any | None:
        """``SET lock token NX PX`` through redis-py's lock; the lock, or ``None`` if held."""
        lock = self.client.lock(self.lock_key, timeout=seconds, blocking=False, thread_local=False)
        return lock if lock.acquire() else None

    def unlock(self, token: Any) -> None:
        """Release the lock if it is still ours (compare-and-delete on the server)."""
        with contextlib.suppress(self.lock_error):
            token.release()

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


class RedisCache(CachePlugin):
    """Cache plugin ``cache-redis``."""

    backend = "redis"

    def __init__(self) -> None:
        load_redis()
        super().__init__()

    def open_store(self, kernel: KernelAPI) -> RedisStore:
        """The store at ``cache.redis_url`` under ``cache.key_prefix``, namespaced by database."""
        section = kernel.settings.cache
        return RedisStore(
            str(section.redis_url),
            str(section.key_prefix),
            database_namespace(str(kernel.settings.database.url)),
        )
