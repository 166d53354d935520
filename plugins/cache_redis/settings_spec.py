"""Settings of ``cache-redis``: the shared ``[cache]`` keys, the Redis URL and the key prefix."""

from __future__ import annotations

from kernel import hookimpl
from kernel.settingspec import Section, Setting
from plugins.cache_common.settings_spec import COMMON, HELP

CACHE = Section(
    "cache",
    HELP,
    (
        *COMMON,
        Setting(
            "redis_url",
            str,
            "redis://127.0.0.1:6379/0",
            "cache-redis: the Redis server (needs the redis extra)",
            check=lambda url: url.split("://", 1)[0] in ("redis", "rediss", "unix"),
            rule="starting with redis://, rediss:// or unix://",
        ),
        Setting(
            "key_prefix",
            str,
            "batchkernel",
            "cache-redis: keys are <key_prefix>:<database hash>:...",
            non_empty=True,
        ),
    ),
)


@hookimpl
def declare_settings() -> list[Section]:
    """``[cache]`` with the Redis keys."""
    return [CACHE]
