"""The task registry: every plugin's tasks (``register_tasks``) by name (the requests'
``processing_type``), checked once; a schema strict structured outputs cannot take stops the start."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kernel.strict_schema import strict_problems
from kernel.types import ConfigError, TaskSpec

TASK_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
PARAMS = ("temperature", "max_output_tokens", "reasoning_effort")
"""Parameters a task may set for its requests (over ``model.*``)."""


def task_problems(task: TaskSpec) -> list[str]:
    """What is wrong with one task, each problem naming it."""
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
    problems += [
        f"task {task.name!r}: schema {problem}" for problem in strict_problems(task.schema)
    ]
    return problems


def build_registry(answers: Iterable[Sequence[TaskSpec] | None]) -> dict[str, TaskSpec]:
    """Every plugin's tasks by name; a :class:`ConfigError` lists every problem."""
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
            problems += task_problems(task)
            tasks[task.name] = task
    ConfigError.raise_for(problems, "invalid task", "invalid tasks")
    return tasks


def unknown_task(name: str, known: Mapping[str, Any]) -> ConfigError:
    """The error for a task name nothing defines, with the valid names."""
    return ConfigError(
        f"unknown task {name!r}; defined tasks: {', '.join(sorted(known))} (define more in "
        "[default.tasks.NAME] of settings.toml)"
    )
