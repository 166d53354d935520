"""The ``cache-redis`` plugin: one company cache shared by every machine (the ``redis`` extra).

The client is imported when the plugin is loaded, so a missing package stops start-up with a
message naming the extra instead of failing at the first lookup.
"""

from plugins.common.lazy import lazy_exports

__getattr__ = lazy_exports(
    __name__,
    {"RedisCache": "store", "RedisStore": "store"},
)

__all__ = ["RedisCache", "RedisStore"]
