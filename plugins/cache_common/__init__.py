"""Library shared by the cache plugins: settings, stored format, single-flight logic, hooks."""

from plugins.common.lazy import lazy_exports

__getattr__ = lazy_exports(
    __name__,
    {
        "CacheConfig": "config",
        "database_namespace": "config",
        "CompanyCache": "flight",
        "CachePlugin": "plugin",
        "CacheStats": "stats",
        "Entry": "store",
        "Store": "store",
    },
)

__all__ = [
    "CacheConfig",
    "CachePlugin",
    "CacheStats",
    "CompanyCache",
    "Entry",
    "Store",
    "database_namespace",
]
