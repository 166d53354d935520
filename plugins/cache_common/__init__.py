"""Library shared by the cache plugins: settings, stored format, single-flight logic, hooks."""

from plugins.cache_common.config import CacheConfig, database_namespace
from plugins.cache_common.flight import CompanyCache
from plugins.cache_common.plugin import CachePlugin
from plugins.cache_common.stats import CacheStats
from plugins.cache_common.store import Entry, Store

__all__ = [
    "CacheConfig",
    "CachePlugin",
    "CacheStats",
    "CompanyCache",
    "Entry",
    "Store",
    "database_namespace",
]
