"""Plugins' commands: a plugin manager built before the arguments are parsed, then
``register_commands`` on every plugin.

The manager comes from the settings the command line names (``--settings FILE`` read ahead from
the arguments, the environment); when those cannot be loaded it comes from the shipped defaults,
so ``--help`` still lists every command and the command that needs the settings reports the
error itself when it opens its kernel.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pluggy
import typer

from kernel.cli.options import SETTINGS_FLAG
from kernel.types import KernelError, PluginLoadError

log = logging.getLogger("batchkernel.plugins")


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
    """The plugin manager whose plugins add commands, and whether ``plugins.strict`` is on:
    from the user's settings, or from the shipped defaults when those cannot be loaded (the
    command that needs them reports why)."""
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


def _names(app: typer.Typer) -> list[str]:
    """The names of the commands and groups on ``app``."""
    commands = [_name(info.name, info.callback) for info in app.registered_commands]
    return commands + [info.name or "" for info in app.registered_groups]


def _name(name: str | None, callback: Any) -> str:
    """A command's name: given, or its function's name with dashes (as Typer names it)."""
    return name or getattr(callback, "__name__", "").replace("_", "-")


def _repeated(app: typer.Typer) -> set[str]:
    """Names given to more than one command or group."""
    return {name for name, count in Counter(_names(app)).items() if count > 1}


def add_plugin_commands(app: typer.Typer, pm: pluggy.PluginManager, *, strict: bool) -> None:
    """Let every plugin add its commands. A built-in that fails or takes a name already used
    stops the start; a third-party plugin's failing or clashing commands are skipped with a
    warning (an error with ``plugins.strict``)."""
    from kernel.catalog import BUILTIN_PLUGINS

    for impl in reversed(pm.hook.register_commands.get_hookimpls()):
        name = impl.plugin_name
        builtin = name in BUILTIN_PLUGINS
        commands, groups = list(app.registered_commands), list(app.registered_groups)
        taken = _names(app)
        try:
            impl.function(cli=app)
            clashes = sorted((Counter(_names(app)) - Counter(taken)).keys() & _repeated(app))
            if clashes:
                raise PluginLoadError(f"adds command {clashes[0]!r}, which already exists")
        except Exception as exc:
            app.registered_commands[:] = commands
            app.registered_groups[:] = groups
            message = f"plugin {name}: its commands were not added: {exc}"
            if builtin or strict:
                raise PluginLoadError(message) from exc
            log.warning(message)
    app.registered_commands.sort(key=lambda info: _name(info.name, info.callback))
    app.registered_groups.sort(key=lambda info: info.name or "")
