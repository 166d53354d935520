"""Settings of ``cache-disk``: the shared ``[cache]`` keys and where its directory is."""

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
            "directory",
            str,
            "",
            'cache-disk: the diskcache directory; "" = "cache" beside batch.workdir',
        ),
    ),
)


@hookimpl
def declare_settings() -> list[Section]:
    """``[cache]`` with ``directory``."""
    return [CACHE]
