"""Plugin ``core-commands``: ``run``, ``db upgrade`` and ``plugins``, and the one-line errors of
every command (database down, a missing file, a busy port)."""

from __future__ import annotations

import typer

from kernel import hookimpl
from plugins.cli.options import DatabaseOption, SettingsOption, console, open_kernel
from plugins.core_commands.listing import plugins
from plugins.core_commands.run import run


def db_upgrade(settings: SettingsOption = None, database: DatabaseOption = None) -> None:
    """Create or migrate the schema to the newest revisions (the built-in history's and each
    installed plugin's)."""
    from kernel.db.migrate import upgrade
    from plugins.cli.readiness import DatabaseNotReadyError, named, unknown_problem
    from plugins.cli.revisions import current_heads

    kernel = open_kernel(settings, database)
    kernel.db.allow_create()
    problem = unknown_problem(current_heads(kernel.db))
    if problem:
        raise DatabaseNotReadyError(problem)
    upgrade(kernel.db)
    console().print(f"schema at {named(current_heads(kernel.db))} ({kernel.db.dialect})")


class CoreCommands:
    """Adds ``run``, ``db upgrade`` and ``plugins``; explains expected errors."""

    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        """The commands that need no other plugin."""
        db_app = typer.Typer(help="Schema management.", no_args_is_help=True)
        db_app.command("upgrade")(db_upgrade)
        cli.add_typer(db_app, name="db")
        cli.command("plugins")(plugins)
        cli.command("run")(run)

    @hookimpl
    def explain_error(self, error: BaseException) -> tuple[str, int] | None:
        """Database, file and network errors as one line (see :mod:`plugins.cli.errors`)."""
        from plugins.cli.errors import explain

        return explain(error)
