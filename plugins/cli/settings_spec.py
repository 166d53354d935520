"""The ``[log]`` section the command line reads (:mod:`plugins.cli.logs`); declared by the
``core-commands`` plugin, as this library is no plugin."""

from __future__ import annotations

from kernel.settingspec import Section, Setting
from plugins.cli.logs import FORMATS, LEVELS

LOG = Section(
    "log",
    "What the command line logs on standard error, and how. `--log-level`, `--quiet` and "
    "`--debug` win over `level`.",
    (
        Setting(
            "level",
            str,
            "info",
            "batchkernel's log level (info: a start-up banner and progress per cycle)",
            choices=LEVELS,
        ),
        Setting(
            "format",
            str,
            "text",
            "text (one line with a UTC timestamp) or json (one object a line, for log shippers)",
            choices=FORMATS,
        ),
    ),
)
