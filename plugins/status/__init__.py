"""Plugin ``status``: ``batchkernel status``, the monitoring snapshot as text or JSON.

The snapshot is built by :mod:`plugins.common.monitoring` (the library ``serve`` uses too);
the text view is :mod:`plugins.status.view`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kernel import hookimpl
from plugins.cli.options import DatabaseOption, SettingsOption, console, open_kernel


def status_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    company: Annotated[str | None, typer.Option("--company", help="One company id.")] = None,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """The monitoring snapshot: requests and batches by state, budgets, every plugin's section.

    Each plugin section is merged over the live scheduler instances by the plugin that owns it.
    """
    import orjson

    from plugins.common.console import stdout_console
    from plugins.common.monitoring.queries import MonitorReader
    from plugins.common.monitoring.snapshot import build_snapshot
    from plugins.status.view import print_status

    kernel = open_kernel(settings, database, need_schema=True)
    reader = MonitorReader.for_database(kernel.db)
    try:
        snapshot = build_snapshot(reader, kernel, company=company)
    finally:
        reader.dispose()
    if company is not None and not snapshot["companies"]:
        console().print(f"[red]no company with id {company!r}[/red]")
        raise typer.Exit(code=1)
    if as_json:
        typer.echo(orjson.dumps(snapshot, option=orjson.OPT_INDENT_2).decode())
        return
    print_status(stdout_console(), snapshot)


class StatusCommand:
    """Adds ``batchkernel status``."""

    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        """The ``status`` command."""
        cli.command("status")(status_command)
