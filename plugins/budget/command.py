"""``batchkernel costs``: spend by company, provider, model, processing type and day, from the
database; ``--compare``: the same tokens at each provider's batch price."""

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
    compare: Annotated[
        bool,
        typer.Option(
            "--compare",
            help="Also price the same tokens at each provider's batch price (routing.providers, "
            "else every provider with prices); with --csv, only the comparison.",
        ),
    ] = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Spend by company, provider, model, processing type and day; estimates against actuals;
    savings; with --compare, the same tokens at each provider."""
    from plugins.budget.compare import compare as compare_report
    from plugins.budget.costs import cost_report
    from plugins.budget.costs_view import (
        parse_since,
        print_compare,
        print_costs,
        write_compare_csv,
        write_csv,
    )
    from plugins.common.console import stdout_console
    from plugins.common.monitoring.queries import MonitorReader
    from plugins.common.pricing import PriceBook

    if as_json and as_csv:
        console().print("[red]--json and --csv exclude each other[/red]")
        raise typer.Exit(code=2)
    start = parse_since(since)
    kernel = open_kernel(settings, database, need_schema=True)
    reader = MonitorReader.for_database(kernel.db)
    try:
        with reader.connect() as conn:
            report = cost_report(conn, reader.dialect, company=company, since=start)
    finally:
        reader.dispose()
    comparison = None
    if compare:
        book = PriceBook.from_settings(kernel.settings)
        comparison = report["compare"] = compare_report(report, kernel.settings, book)
    if as_json:
        import orjson

        typer.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    elif as_csv and comparison:
        write_compare_csv(comparison)
    elif as_csv:
        write_csv(report)
    else:
        out = stdout_console()
        print_costs(out, report)
        if comparison and report["rows"]:
            print_compare(out, comparison)
