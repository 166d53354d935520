"""What every command shares: the ``--settings`` and ``--database`` options and opening a kernel.

Plugins' commands use these too, so every command reads settings the same way and reports a bad
setting the same way (one line, from :func:`plugins.cli.main.main`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from plugins.cli.main import SETTINGS_FLAG
from plugins.common import calls

if TYPE_CHECKING:
    from kernel.manager import Kernel

SettingsOption = Annotated[
    Path | None,
    typer.Option(SETTINGS_FLAG, help="A settings.toml to load over the shipped defaults."),
]
DatabaseOption = Annotated[
    str | None, typer.Option("--database", help="Database URL (overrides database.url).")
]


def console() -> Console:
    """Messages for the user (stderr); results a command prints go to stdout. Made when used, so
    it reads the terminal and ``COLUMNS`` of that moment, not those of the first import."""
    return Console(stderr=True)


def open_kernel(
    settings_file: Path | None,
    database: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    need_schema: bool = False,
) -> Kernel:
    """Load settings (shipped defaults, ``settings_file``, the environment, ``--database``, then
    ``overrides`` as dotted keys), apply their ``log`` section and build a kernel. A bad setting
    raises :class:`kernel.types.ConfigError`, which the command line shows in one line.

    A missing SQLite file is never created here (only migrating creates one);
    ``need_schema`` checks that the database is reachable and migrated before the command
    reads it, so the user gets the fix instead of a driver error. Opened by a command, the kernel
    is closed when the command ends, however it ends (:func:`close_kernels_at_end`); outside a
    command, the caller closes it."""
    from kernel.manager import Kernel
    from kernel.settings import load_settings
    from plugins.cli.logs import apply_log_settings

    dotted: dict[str, Any] = {"database.url": database} if database else {}
    dotted |= dict(overrides or {})
    settings = load_settings(dotted, settings_file=settings_file)
    apply_log_settings(settings)
    kernel = Kernel.create(settings)
    kernel.create_database = False
    try:
        calls.tasks(kernel)  # an invalid task (for the kernel or a provider) stops the command here
        if need_schema:
            from plugins.cli.readiness import require_schema

            require_schema(kernel.db)
    except BaseException:
        kernel.close()  # the command stops here: its connections must not outlive it
        raise
    if _command_kernels is not None:
        _command_kernels.append(kernel)
    return kernel


_command_kernels: list[Kernel] | None = None
"""The kernels the running command opened (``None``: no command is running)."""


def close_kernels_at_end(command: typer.Context) -> None:
    """Close every kernel the command about to run opens when its context closes (it returned,
    failed or exited), so no command, built-in or a plugin's, leaves connections open."""
    global _command_kernels
    opened: list[Kernel] = []
    _command_kernels = opened

    def close() -> None:
        global _command_kernels
        _command_kernels = None
        for kernel in opened:
            kernel.close()

    command.call_on_close(close)
