"""Typed calls of the hooks plugins call of each other (:mod:`plugins.common.hookspecs`): each
names the hook, checks the answer and says what is missing when no plugin answers."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import cast

from kernel.api import KernelAPI
from kernel.manager import first_answer
from kernel.types import Company, ConfigError, LocalBatch, ResultFiles
from plugins.common.exchange import LLMResult, ProviderLimits, RequestEncoder, TaskSpec

_TASKS: weakref.WeakKeyDictionary[KernelAPI, dict[str, TaskSpec]] = weakref.WeakKeyDictionary()
_TASKS_LOCK = threading.Lock()


def tasks(kernel: KernelAPI) -> Mapping[str, TaskSpec]:
    """Every defined task by name (built-in, from settings, from plugins), checked once per
    kernel (a kernel that cannot be weakly referenced, such as a test's stand-in, is asked each
    time); a :class:`ConfigError` lists every problem (an answer that is no task, a name defined
    twice, what each task's ``task_problems`` answers find, the same one once)."""
    try:
        with _TASKS_LOCK:
            known = _TASKS.get(kernel)
    except TypeError:
        return _collect_tasks(kernel)
    if known is not None:
        return known
    found = _collect_tasks(kernel)
    with _TASKS_LOCK:
        return _TASKS.setdefault(kernel, found)


def _collect_tasks(kernel: KernelAPI) -> dict[str, TaskSpec]:
    """Every plugin's tasks, checked (see :func:`tasks`)."""
    found: dict[str, TaskSpec] = {}
    problems: list[str] = []
    for answer in kernel.pm.hook.register_tasks(kernel=kernel):
        for task in answer or ():
            if not isinstance(task, TaskSpec):
                problems.append(f"register_tasks returned {type(task).__name__}, not a TaskSpec")
            elif task.name in found:
                problems.append(f"task {task.name!r} is defined twice; rename one of them")
            else:
                found[task.name] = task
    for task in found.values():
        answers = kernel.pm.hook.task_problems(kernel=kernel, task=task)
        listed = dict.fromkeys(str(problem) for answer in answers for problem in answer or ())
        problems += [f"task {task.name!r}: {problem}" for problem in listed]
    ConfigError.raise_for(problems, "invalid task", "invalid tasks")
    return found


def task(kernel: KernelAPI, name: str) -> TaskSpec:
    """The task called ``name``; a :class:`ConfigError` listing the valid names otherwise."""
    defined = tasks(kernel)
    try:
        return defined[name]
    except KeyError:
        raise ConfigError(
            f"unknown task {name!r}; defined tasks: {', '.join(sorted(defined))} (define more in "
            "[default.tasks.NAME] of settings.toml)"
        ) from None


def provider_limits(kernel: KernelAPI, provider: str) -> ProviderLimits:
    """What one batch may hold at ``provider``."""
    arguments = {"provider": provider}
    return first_answer(
        kernel, "provider_limits", ProviderLimits, arguments, about=f"provider {provider!r}"
    )


def request_encoder(kernel: KernelAPI, provider: str, model: str) -> RequestEncoder:
    """The encoder of neutral requests for ``model`` at ``provider``."""
    arguments = {"provider": provider, "model": model}
    encoder = first_answer(
        kernel, "request_encoder", object, arguments, about=f"provider {provider!r}"
    )
    return cast("RequestEncoder", encoder)


def read_results(kernel: KernelAPI, batch: LocalBatch, files: ResultFiles) -> Iterable[LLMResult]:
    """The neutral results of a batch's downloaded files, streamed by its provider's plugin."""
    arguments = {"batch": batch, "files": files}
    about = f"provider {batch.provider!r} (batch {batch.batch_id})"
    return cast(
        "Iterable[LLMResult]", first_answer(kernel, "read_results", object, arguments, about=about)
    )


def route_companies(kernel: KernelAPI, companies: Sequence[Company]) -> dict[str, str]:
    """The provider each company's new batches go to now (a company left out gets none);
    unanswered, the first configured provider for all."""

    def primary(companies: Sequence[Company]) -> dict[str, str]:
        return dict.fromkeys((company.id for company in companies), kernel.providers()[0])

    arguments = {"companies": companies}
    return first_answer(kernel, "route_companies", dict, arguments, default=primary)


def companies_changed(kernel: KernelAPI, company_ids: Sequence[str]) -> None:
    """Tell every plugin that these companies were added or changed status."""
    if company_ids:
        kernel.pm.hook.companies_changed(kernel=kernel, company_ids=list(company_ids))


def work_left(kernel: KernelAPI) -> dict[str, int]:
    """What is still to do, counted by kind; all zero: idle."""
    return first_answer(kernel, "work_left", dict, {})
