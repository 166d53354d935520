"""The ``cache-redis`` plugin: one company cache shared by every machine (the ``redis`` extra).

The client is imported when the plugin is loaded, so a missing package stops start-up with a
message naming the extra instead of failing at the first lookup.
"""

from plugins.cache_redis.store import RedisCache, RedisStore

__all__ = ["RedisCache", "RedisStore"]
