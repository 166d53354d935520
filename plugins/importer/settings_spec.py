"""Settings of the ``importer`` plugin: its key of ``[processing]`` (read by
:mod:`plugins.common.importing`, which the demo, bench and chaos harness import with too)."""

from __future__ import annotations

from kernel import hookimpl
from kernel.settingspec import Section, Setting

PROCESSING = Section(
    "processing",
    "",
    (
        Setting(
            "default_tasks",
            list,
            ["session_analysis"],
            'tasks enqueued for an imported session whose line names none (its "tasks")',
            non_empty=True,
            check=lambda names: all(isinstance(name, str) and name for name in names),
            rule="of task names",
        ),
    ),
)


@hookimpl
def declare_settings() -> list[Section]:
    """``processing.default_tasks``."""
    return [PROCESSING]
