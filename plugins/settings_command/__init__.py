"""Plugin ``settings``: ``batchkernel settings``, the effective settings with their sources
(secrets masked), and ``--reference``, the Markdown reference of every built-in setting."""

from __future__ import annotations

from typing import Annotated

import typer

from kernel import hookimpl
from plugins.cli.options import DatabaseOption, SettingsOption


def show_settings(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    reference: Annotated[
        bool,
        typer.Option(
            "--reference",
            help="Print the Markdown reference of every built-in setting (docs/settings.md).",
        ),
    ] = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Every setting's value and source (default, file, variable, command line); secrets masked.

    Unknown or bad settings are reported with the closest valid name; exit status 2.
    """
    from kernel.settings import read_settings
    from kernel.settingspec import collect_declarations
    from plugins.settings_command import view as settings_view

    if reference:
        typer.echo(settings_view.as_reference(collect_declarations(third_party=False)), nl=False)
        return
    overrides = {"database.url": database} if database else {}
    loaded = read_settings(overrides, settings_file=settings)
    typer.echo(settings_view.as_json(loaded) if as_json else settings_view.as_text(loaded))


class SettingsCommand:
    """Adds ``batchkernel settings``."""

    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        """The ``settings`` command."""
        cli.command("settings")(show_settings)
