"""The ``batchkernel`` entry point: a Typer app whose commands all come from plugins.

Commands are added through ``register_commands`` on a plugin manager built before the arguments
are parsed, from the settings the command line names or, when those cannot be loaded, from the
shipped defaults (so ``--help`` still lists every command and the command reports the error).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pluggy
import typer
from rich.console import Console
from rich.markup import escape

from kernel.types import KernelError, PluginLoadError
from plugins.cli.logs import LEVELS
from plugins.cli.logs import configure as configure_logging

HELP = "Run LLM work through the OpenAI Batch API over your own database."
SETTINGS_FLAG = "--settings"
log = logging.getLogger("batchkernel.plugins")


def _version(value: bool) -> None:
    """Print the installed version and stop (``--version``)."""
    if value:
        from importlib.metadata import version

        typer.echo(f"batchkernel {version('batchkernel')}")
        raise typer.Exit()


def root(
    command: typer.Context,
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
    from plugins.cli.options import close_kernels_at_end

    close_kernels_at_end(command)


def core_app() -> typer.Typer:
    """The root app before any plugin added its commands."""
    app = typer.Typer(
        name="batchkernel",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(root)
    return app


def settings_file_in(argv: Sequence[str]) -> Path | None:
    """The file of ``--settings FILE`` or ``--settings=FILE`` in ``argv`` (the last one wins)."""
    found: Path | None = None
    for index, arg in enumerate(argv):
        if arg == SETTINGS_FLAG and index + 1 < len(argv):
            found = Path(argv[index + 1])
        elif arg.startswith(SETTINGS_FLAG + "="):
            found = Path(arg.split("=", 1)[1])
    return found


def command_manager(argv: Sequence[str]) -> tuple[pluggy.PluginManager, bool]:
    """The plugin manager whose plugins add commands, and whether ``plugins.strict`` is on."""
    from kernel.manager import build_plugin_manager
    from kernel.settings import load_settings, shipped_settings

    try:
        settings = load_settings(settings_file=settings_file_in(argv))
        pm = build_plugin_manager(settings)[0]
    except KernelError as exc:
        log.debug("commands listed from the shipped defaults: %s", exc)
        settings = shipped_settings()
        pm = build_plugin_manager(settings)[0]
    return pm, bool(settings.plugins.get("strict", False))


def _name(name: str | None, callback: Any) -> str:
    """A command's name: given, or its function's name with dashes (as Typer names it)."""
    return name or getattr(callback, "__name__", "").replace("_", "-")


def _names(app: typer.Typer) -> list[str]:
    """The names of the commands and groups on ``app``."""
    commands = [_name(info.name, info.callback) for info in app.registered_commands]
    return commands + [info.name or "" for info in app.registered_groups]


def add_plugin_commands(app: typer.Typer, pm: pluggy.PluginManager, *, strict: bool) -> None:
    """Let every plugin add its commands, built-ins first. A built-in that fails or takes a name
    already used stops the start; a third-party plugin's are skipped with a warning (unless
    ``strict``)."""
    from kernel.catalog import BUILTIN_PLUGINS

    impls = reversed(pm.hook.register_commands.get_hookimpls())
    for impl in sorted(impls, key=lambda impl: impl.plugin_name not in BUILTIN_PLUGINS):
        commands, groups = list(app.registered_commands), list(app.registered_groups)
        taken = Counter(_names(app))
        try:
            impl.function(cli=app)
            now = Counter(_names(app))
            clashes = sorted(name for name in now - taken if now[name] > 1)
            if clashes:
                raise PluginLoadError(f"adds command {clashes[0]!r}, which already exists")
        except Exception as exc:
            app.registered_commands[:] = commands
            app.registered_groups[:] = groups
            message = f"plugin {impl.plugin_name}: its commands were not added: {exc}"
            if impl.plugin_name in BUILTIN_PLUGINS or strict:
                raise PluginLoadError(message) from exc
            log.warning(message)
    app.registered_commands.sort(key=lambda info: _name(info.name, info.callback))
    app.registered_groups.sort(key=lambda info: info.name or "")


def _build(argv: Sequence[str]) -> tuple[typer.Typer, pluggy.PluginManager]:
    """The whole command and the plugin manager whose plugins made it."""
    app = core_app()
    pm, strict = command_manager(argv)
    add_plugin_commands(app, pm, strict=strict)
    return app, pm


def build_app(argv: Sequence[str] | None = None) -> typer.Typer:
    """The whole command, with the plugin manager built from the settings ``argv`` names."""
    return _build(sys.argv[1:] if argv is None else argv)[0]


@dataclass(slots=True)
class GlobalFlags:
    """``--debug``, ``--log-level``, ``--quiet``: taken by every command, anywhere on the line."""

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
    """Console-script entry point. An expected error (a :class:`KernelError`, or one a plugin's
    ``explain_error`` explains) becomes one line on stderr, with the traceback under ``--debug``."""
    args = sys.argv[1:] if argv is None else list(argv)
    flags = GlobalFlags()
    pm: pluggy.PluginManager | None = None
    try:
        flags, args = global_flags(args)
        configure_logging(flags.level)
        app, pm = _build(args)
        app(args=args, prog_name="batchkernel")
    except Exception as exc:
        explained = (str(exc), 2) if isinstance(exc, KernelError) else None
        if explained is None and pm is not None:
            explained = pm.hook.explain_error(error=exc)
        if explained is None:
            raise
        if flags.debug:
            traceback.print_exc()
        message, status = explained
        Console(stderr=True).print(
            f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True
        )
        raise SystemExit(status) from None
