"""Settings of the ``tasks`` plugin: ``[tasks.NAME]``, the user's own tasks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kernel import hookimpl
from kernel.settingspec import Section, Setting

TASK_KEYS = ("instructions", "schema", "model", "params")


def _task_table(task: Any) -> bool:
    """A task is a table with instructions and schema, and maybe model and params."""
    return (
        isinstance(task, Mapping)
        and {"instructions", "schema"} <= set(task)
        and set(task) <= set(TASK_KEYS)
    )


TASKS = Section(
    "tasks",
    "Your own tasks, one table each: [default.tasks.NAME] with instructions (the system prompt), "
    "schema (the answer's JSON schema: a table, JSON text, or a JSON file path relative to the "
    "settings file) and optionally model and params (temperature, max_output_tokens, "
    "reasoning_effort). Their answers are stored as JSON on each request.",
    (),
    entries=Setting(
        "NAME",
        dict,
        {},
        "one task",
        check=_task_table,
        rule="with instructions and schema (and optionally model and params)",
        relative_paths=("schema",),
    ),
)


@hookimpl
def declare_settings() -> list[Section]:
    """The ``tasks`` section."""
    return [TASKS]
