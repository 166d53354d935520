"""Plugin ``core-commands``: ``run``, ``db upgrade`` and ``plugins``, and the one-line errors of
every command (database down, a missing file, a busy port)."""

from __future__ import annotations

import typer

from kernel import hookimpl
from plugins.cli.options import DatabaseOption, SettingsOption, console, open_kernel
from plugins.core_commands.listing import plugins
from plugins.core_commands.run import run


def db_upgrade(settings: SettingsOption = None, database: DatabaseOption = None) -> None:
    """Create or migrate the schema to the newest revision."""
    from kernel.db.migrate import current_revision, upgrade

    kernel = open_kernel(settings, database)
    upgrade(kernel.db)
    revision = current_revision(kernel.db)
    console().print(f"schema at revision {revision} ({kernel.db.dialect})")


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
