"""The ``cache-disk`` plugin (the default): the company cache in a ``diskcache`` directory.

Every process of one machine that uses the same directory shares one cached list, one fill lock
and one invalidation, so a company suspended through ``batchkernel companies set-status`` in one
process is seen at once by the schedulers running in the others.
"""

from plugins.cache_disk.store import DiskCache, DiskStore, cache_directory

__all__ = ["DiskCache", "DiskStore", "cache_directory"]
