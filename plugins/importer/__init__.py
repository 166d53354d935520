"""Plugin ``importer``: the ``batchkernel import`` command (sessions from JSONL).

The import itself is :mod:`plugins.common.importing`, a library the demo, the benchmark and the
chaos harness load data with too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kernel import hookimpl
from plugins.cli.options import DatabaseOption, SettingsOption, open_kernel

if TYPE_CHECKING:
    from plugins.common.importing.report import ImportReport

SHOWN = 50
"""Bad lines (and notes) printed at most; the rest are counted."""


def _show(report: ImportReport) -> None:
    """Print the bad lines and notes (at most ``SHOWN`` of each) and the summary, to stderr."""
    for kind, items in (("bad lines", report.problems), ("notes", report.notes)):
        for item in items[:SHOWN]:
            typer.echo(f"line {item.line}: {item.reason}", err=True)
        if len(items) > SHOWN:
            typer.echo(f"... and {len(items) - SHOWN} more {kind}", err=True)
    typer.echo(report.summary(), err=True)
    if report.problems:
        typer.echo(
            f"{len(report.problems):,} bad line{'s' if len(report.problems) != 1 else ''} "
            "skipped: fix them and import the file again (lines already imported are kept)",
            err=True,
        )


def import_sessions(
    file: Annotated[
        Path,
        typer.Argument(
            help="JSONL file, one session a line.", exists=True, dir_okay=False, readable=True
        ),
    ],
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="Replace the messages of sessions whose content changed and re-enqueue their "
            "requests (not while a request of the session is in a running batch).",
        ),
    ] = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Load sessions from JSONL and enqueue one request per session; bad lines are reported.

    Exits with status 1 when a line was bad (after printing what was imported).
    """
    from kernel.db.migrate import upgrade
    from plugins.common.importing.importer import ImportStopped, import_file

    kernel = open_kernel(settings, database)
    upgrade(kernel.db)
    try:
        report = import_file(kernel, file, update=update)
    except ImportStopped as stopped:
        _show(stopped.report)
        typer.echo(f"error: {stopped}", err=True)
        raise typer.Exit(code=2) from stopped
    _show(report)
    if report.problems:
        raise typer.Exit(code=1)


class ImportCommand:
    """Adds ``batchkernel import``."""

    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        """The ``import`` command."""
        cli.command("import")(import_sessions)
