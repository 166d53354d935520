"""The ``[cache]`` keys every company-cache plugin reads (``cache-memory`` reads only these)."""

from __future__ import annotations

from kernel import hookimpl
from kernel.settingspec import Section, Setting

HELP = (
    "The company cache (get_companies). Hit rate = hits / (hits + misses); database reads = "
    "misses + refreshes. Changes made through batchkernel are seen at once, changes made behind "
    "its back within ttl_seconds."
)

COMMON = (
    Setting(
        "ttl_seconds",
        float,
        300,
        "a cached company list older than this is expired (the next lookup misses)",
        gt=0,
    ),
    Setting(
        "refresh_ahead",
        float,
        0.8,
        "past this fraction of the TTL a hit also starts one background refresh (1: off)",
        gt=0,
        le=1,
    ),
    Setting(
        "fill_wait_seconds",
        float,
        5,
        "concurrent misses wait this long for the one database read, then read themselves",
        ge=0,
    ),
    Setting(
        "lock_seconds",
        float,
        30,
        "the shared fill/refresh lock expires after this (a crashed holder)",
        gt=0,
    ),
)

CACHE = Section("cache", HELP, COMMON)


@hookimpl
def declare_settings() -> list[Section]:
    """The shared ``[cache]`` keys."""
    return [CACHE]
