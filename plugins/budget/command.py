"""``batchkernel costs``: spend by company, model, processing type and day, from the database."""

from __future__ import annotations

from typing import Annotated

import typer

from plugins.cli.options import DatabaseOption, SettingsOption, console, open_kernel


def costs_command(
    company: Annotated[str | None, typer.Option("--company", help="One company id.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this UTC date (YYYY-MM-DD) on.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV, one row per group.")] = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Spend by company, model, processing type and day; estimates against actuals; savings."""
    from plugins.budget.costs import cost_report
    from plugins.budget.costs_view import parse_since, print_costs, write_csv
    from plugins.common.console import stdout_console
    from plugins.common.monitoring.queries import MonitorReader

    if as_json and as_csv:
        console.print("[red]--json and --csv exclude each other[/red]")
        raise typer.Exit(code=2)
    start = parse_since(since)
    kernel = open_kernel(settings, database, need_schema=True)
    reader = MonitorReader.for_database(kernel.db)
    try:
        with reader.connect() as conn:
            report = cost_report(conn, reader.dialect, company=company, since=start)
    finally:
        reader.dispose()
    if as_json:
        import orjson

        typer.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    elif as_csv:
        write_csv(report)
    else:
        print_costs(stdout_console(), report)
