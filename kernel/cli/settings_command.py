"""``batchkernel settings``: the effective settings with their sources, secrets masked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def show_settings(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    reference: Annotated[
        bool,
        typer.Option(
            "--reference",
            help="Print the Markdown reference of every built-in setting (docs/settings.md).",
        ),
    ] = False,
    settings: Annotated[
        Path | None,
        typer.Option("--settings", help="A settings.toml to load over the shipped defaults."),
    ] = None,
    database: Annotated[
        str | None, typer.Option("--database", help="Database URL (overrides database.url).")
    ] = None,
) -> None:
    """Every setting's value and source (default, file, variable, command line); secrets masked.

    Unknown or bad settings are reported with the closest valid name; exit status 2.
    """
    from kernel.cli import settings_view
    from kernel.declarations import collect_declarations
    from kernel.settings import read_settings

    if reference:
        typer.echo(settings_view.as_reference(collect_declarations(third_party=False)), nl=False)
        return
    overrides = {"database.url": database} if database else {}
    loaded = read_settings(overrides, settings_file=settings)
    typer.echo(settings_view.as_json(loaded) if as_json else settings_view.as_text(loaded))
