"""Plugin ``tasks``: the user's own tasks of the ``[tasks.NAME]`` settings, and the commands
``batchkernel tasks`` (the defined tasks), ``enqueue --task`` and ``results``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kernel import hookimpl
from kernel.api import KernelAPI
from plugins.cli.options import DatabaseOption, SettingsOption, console, open_kernel
from plugins.common import calls
from plugins.common.exchange import TaskSpec

TaskOption = Annotated[
    str, typer.Option("--task", help="The task's name (see `batchkernel tasks`).")
]
CompanyOption = Annotated[str | None, typer.Option("--company", help="Only this company (its id).")]


def tasks_command(settings: SettingsOption = None) -> None:
    """The defined tasks: built-in, from settings and from plugins, with their models."""
    kernel = open_kernel(settings)
    default_model = str(kernel.settings.model.name)
    tasks = sorted(calls.tasks(kernel).items())
    for name, task in tasks:
        fields = ", ".join(task.schema.get("properties", {}))
        console().print(f"{name}: model {task.model or default_model}; answer fields: {fields}")


def enqueue_command(
    task: TaskOption,
    company: CompanyOption = None,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Enqueue a task for every session (of one company) that has no request of it yet."""
    from plugins.tasks.enqueue import enqueue_task

    kernel = open_kernel(settings, database)
    created = enqueue_task(kernel, task, company)
    console().print(f"{created} requests of task {task} enqueued")


def results_command(
    task: Annotated[str | None, typer.Option("--task", help="Only this task's results.")] = None,
    company: CompanyOption = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only results completed from this date (ISO, UTC)."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="jsonl (one object a line) or csv.")
    ] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", help="Write to this file (default: standard output).")
    ] = None,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Export finished results: request_id, session_id, company, task, model, completed_at and
    result (the validated answer), oldest first, streamed."""
    from plugins.tasks.export import FORMATS, finished_results, parse_since, write_results

    if fmt not in FORMATS:
        console().print(f"[red]--format must be one of {', '.join(FORMATS)}, not {fmt!r}[/red]")
        raise typer.Exit(code=2)
    kernel = open_kernel(settings, database)
    records = finished_results(
        kernel, task=task, company=company, since=parse_since(since) if since else None
    )
    if output is None:
        write_results(records, sys.stdout, fmt)
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        count = write_results(records, handle, fmt)
    console().print(f"{count} results written to {output}", highlight=False)


class TasksCommand:
    """Registers the settings' tasks; adds ``tasks``, ``enqueue`` and ``results``."""

    @hookimpl
    def register_tasks(self, kernel: KernelAPI) -> list[TaskSpec]:
        """The tasks of the ``[tasks.NAME]`` settings, in the order written."""
        from plugins.tasks.from_settings import settings_tasks

        return settings_tasks(kernel.settings)

    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        """``tasks``, ``enqueue --task NAME`` and ``results``."""
        cli.command("tasks")(tasks_command)
        cli.command("enqueue")(enqueue_command)
        cli.command("results")(results_command)
