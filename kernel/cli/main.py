"""The ``batchkernel`` command: the kernel's own commands, then every plugin's.

The kernel keeps only what needs no plugin: ``db upgrade``, ``plugins``, ``run`` and
``--version``. Everything else (``serve``, ``status``, ``import``, ``demo``, ``bench``...) is
added by plugins through the ``register_commands`` hook, on a plugin manager built before the
arguments are parsed (:mod:`kernel.cli.plugin_commands`).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.markup import escape

from kernel.cli.errors import explain
from kernel.cli.logs import LEVELS
from kernel.cli.logs import configure as configure_logging
from kernel.cli.options import DatabaseOption, SettingsOption, console, open_kernel
from kernel.cli.plugin_commands import add_plugin_commands, command_manager
from kernel.cli.run_command import run
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
    log_level: Annotated[
        str | None,
        typer.Option(
            "--log-level",
            metavar="LEVEL",
            help="debug, info, warning or error (else the log.level setting); any position.",
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Warnings and errors only; any position.")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Debug logs, and tracebacks with errors; any position."),
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


@dataclass(slots=True)
class GlobalFlags:
    """Options every command takes, anywhere on the line: ``--debug``, ``--log-level``,
    ``--quiet``."""

    debug: bool = False
    level: str | None = None


def global_flags(args: Sequence[str]) -> tuple[GlobalFlags, list[str]]:
    """Take the global options out of ``args`` (up to a ``--``); a bad level is an error."""
    flags = GlobalFlags()
    rest: list[str] = []
    items = iter(args)
    for arg in items:
        if arg == "--":
            rest += [arg, *items]
            break
        if arg == "--debug":
            flags.debug = True
            flags.level = flags.level or "debug"
        elif arg in ("--quiet", "-q"):
            flags.level = "warning"
        elif arg == "--log-level" or arg.startswith("--log-level="):
            value = arg.split("=", 1)[1] if "=" in arg else next(items, "")
            if value.lower() not in LEVELS:
                raise KernelError(
                    f"--log-level {value!r} is not a level; valid levels: {', '.join(LEVELS)}"
                )
            flags.level = value.lower()
        else:
            rest.append(arg)
    return flags, rest


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: build the command and run it; expected errors (bad settings,
    database down or not migrated, a missing file, a busy port) become one line on stderr, with
    the traceback only under ``--debug``."""
    args = sys.argv[1:] if argv is None else list(argv)
    flags = GlobalFlags()
    try:
        flags, args = global_flags(args)
        configure_logging(flags.level)
        build_app(args)(args=args, prog_name="batchkernel")
    except Exception as exc:
        explained = explain(exc)
        if explained is None:
            raise
        message, status = explained
        if flags.debug:
            traceback.print_exc()
        console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
        raise SystemExit(status) from None
