"""The ``cache-disk`` plugin (the default): the company cache in a ``diskcache`` directory.

Every process of one machine that uses the same directory shares one cached list, one fill lock
and one invalidation, so a company suspended through ``batchkernel companies set-status`` in one
process is seen at once by the schedulers running in the others.
"""

from plugins.common.lazy import lazy_exports

__getattr__ = lazy_exports(
    __name__,
    {"DiskCache": "store", "DiskStore": "store", "cache_directory": "store"},
)

__all__ = ["DiskCache", "DiskStore", "cache_directory"]
