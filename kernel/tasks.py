"""The task registry: every plugin's tasks (``register_tasks``) by name (the requests'
``processing_type``), checked once, by the kernel (name, instructions, params) and by the plugins
(``task_problems``: each provider's structured-output rules for the schema), so a bad task stops
the start before any batch."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from kernel.types import ConfigError, TaskSpec

TASK_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
PARAMS = ("temperature", "max_output_tokens", "reasoning_effort")
"""Parameters a task may set for its requests (over ``model.*``)."""

PluginProblems = Callable[[TaskSpec], Iterable[Iterable[str] | None]]
"""The ``task_problems`` hook for one task: each answering plugin's problems with it."""


def task_problems(task: TaskSpec, plugin_problems: PluginProblems) -> list[str]:
    """What is wrong with one task, the kernel's findings then the plugins', each naming it."""
    problems = []
    if not TASK_NAME.match(task.name):
        problems.append(
            f"task {task.name!r}: the name must be lower-case letters, digits and _ "
            "(starting with a letter, at most 64)"
        )
    if not task.instructions.strip():
        problems.append(f"task {task.name!r}: instructions are empty")
    unknown = sorted(set(task.params) - set(PARAMS))
    if unknown:
        problems.append(
            f"task {task.name!r}: unknown params {', '.join(unknown)}; valid: {', '.join(PARAMS)}"
        )
    found = (str(problem) for answer in plugin_problems(task) for problem in answer or ())
    problems += [f"task {task.name!r}: {problem}" for problem in dict.fromkeys(found)]
    return problems


def build_registry(
    answers: Iterable[Sequence[TaskSpec] | None], plugin_problems: PluginProblems
) -> dict[str, TaskSpec]:
    """Every plugin's tasks by name; a :class:`ConfigError` lists every problem, the kernel's and
    those ``plugin_problems`` finds (the same one from two plugins once)."""
    tasks: dict[str, TaskSpec] = {}
    problems: list[str] = []
    for answer in answers:
        for task in answer or ():
            if not isinstance(task, TaskSpec):
                problems.append(f"register_tasks returned {type(task).__name__}, not a TaskSpec")
                continue
            if task.name in tasks:
                problems.append(f"task {task.name!r} is defined twice; rename one of them")
                continue
            problems += task_problems(task, plugin_problems)
            tasks[task.name] = task
    ConfigError.raise_for(problems, "invalid task", "invalid tasks")
    return tasks


def unknown_task(name: str, known: Mapping[str, Any]) -> ConfigError:
    """The error for a task name nothing defines, with the valid names."""
    return ConfigError(
        f"unknown task {name!r}; defined tasks: {', '.join(sorted(known))} (define more in "
        "[default.tasks.NAME] of settings.toml)"
    )
