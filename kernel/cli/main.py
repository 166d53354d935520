"""The ``batchkernel`` command: the kernel's own commands, then every plugin's.

The kernel keeps only what needs no plugin: ``db upgrade``, ``plugins``, ``run`` and
``--version``. Everything else (``serve``, ``status``, ``import``, ``demo``, ``bench``...) is
added by plugins through the ``register_commands`` hook, on a plugin manager built before the
arguments are parsed (:mod:`kernel.cli.plugin_commands`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.markup import escape

from kernel.cli.options import DatabaseOption, SettingsOption, console, open_kernel
from kernel.cli.plugin_commands import add_plugin_commands, command_manager
from kernel.types import KernelError

HELP = "Run LLM work through the OpenAI Batch API over your own database."


def _version(value: bool) -> None:
    """Print the installed version and stop (``--version``)."""
    if value:
        from importlib.metadata import version

        typer.echo(f"batchkernel {version('batchkernel')}")
        raise typer.Exit()


def root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Run LLM work through the OpenAI Batch API over your own database."""


def db_upgrade(settings: SettingsOption = None, database: DatabaseOption = None) -> None:
    """Create or migrate the schema to the newest revision."""
    from kernel.db.migrate import current_revision, upgrade

    kernel = open_kernel(settings, database)
    upgrade(kernel.db)
    console.print(f"schema at revision {current_revision(kernel.db)} ({kernel.db.dialect})")


def plugins(settings: SettingsOption = None, database: DatabaseOption = None) -> None:
    """List every plugin: name, source and version, status, hooks."""
    from rich.console import Console
    from rich.table import Table

    from kernel.manager import describe_plugins

    kernel = open_kernel(settings, database)
    table = Table("name", "source", "version", "role", "status", "hooks")
    for info in describe_plugins(kernel):
        status = info.status if not info.reason else f"{info.status}: {info.reason}"
        table.add_row(
            info.name, info.source, info.version or "-", info.role, status, ", ".join(info.hooks)
        )
    Console().print(table)


def run(
    once: Annotated[bool, typer.Option("--once", help="Run each task once, then exit.")] = False,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Run back to back until nothing is left.")
    ] = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """The scheduler: create batches, poll, apply results, retry, reconcile; stops on SIGTERM."""
    from kernel.scheduler import Scheduler

    kernel = open_kernel(settings, database)
    scheduler = Scheduler(kernel)
    if once:
        scheduler.run_once()
    elif until_idle:
        outcome = scheduler.run_until_idle()
        if not outcome.idle:
            console.print(f"[red]not idle: {outcome.reason}[/red]")
            raise typer.Exit(code=1)
    else:
        scheduler.run_forever()


def core_app() -> typer.Typer:
    """The root app with the kernel's own commands only."""
    app = typer.Typer(
        name="batchkernel",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(root)
    db_app = typer.Typer(help="Schema management.", no_args_is_help=True)
    db_app.command("upgrade")(db_upgrade)
    app.add_typer(db_app, name="db")
    app.command("plugins")(plugins)
    app.command("run")(run)
    return app


def build_app(argv: Sequence[str] | None = None) -> typer.Typer:
    """The whole command: the kernel's commands and those the plugins add, with the plugin
    manager built from the settings ``argv`` names (``--settings FILE``) or the environment."""
    app = core_app()
    pm, strict = command_manager(sys.argv[1:] if argv is None else argv)
    add_plugin_commands(app, pm, strict=strict)
    return app


class _Once(logging.Filter):
    """Lets a plugin-loading warning through once: the command line builds a plugin manager to
    find commands, and the command builds its own kernel, which would repeat it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a repeated warning of the plugin manager."""
        if record.name != "batchkernel.plugins":
            return True
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: build the command, run it, and turn kernel errors into a
    one-line message (exit status 2)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_Once())
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        build_app(args)(args=args, prog_name="batchkernel")
    except KernelError as exc:
        message = escape(str(exc))
        console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from exc
