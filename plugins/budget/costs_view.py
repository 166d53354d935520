"""``batchkernel costs`` output: rich tables, or CSV rows on standard output."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.table import Column, Table

from plugins.budget.costs import KEY, SUMS
from plugins.common.csvcells import SafeWriter


def parse_since(text: str | None) -> datetime | None:
    """``--since`` as the start of that UTC day; a clean error for anything else."""
    if text is None:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError as exc:
        raise typer.BadParameter(
            f"{text!r} is not a date (YYYY-MM-DD)", param_hint="--since"
        ) from exc
    return day.replace(tzinfo=UTC)


def write_csv(report: dict[str, Any]) -> None:
    """Every (company, provider, model, processing type, day) row with all its sums; formula-like
    text (a company id such as ``=HYPERLINK(...)``) is neutralised for spreadsheets."""
    writer = SafeWriter(sys.stdout)
    writer.writerow([*KEY, *SUMS])
    for row in report["rows"]:
        writer.writerow([row[name] for name in KEY] + [_plain(row[name]) for name in SUMS])


def _plain(value: Any) -> Any:
    """Money with enough digits for fractions of a cent; counts as they are."""
    return f"{value:.8f}" if isinstance(value, float) else value


def _error(estimated: float, actual: float) -> str:
    """How far the estimate was from the actual, in percent of the actual."""
    if not actual:
        return "-"
    return f"{(estimated - actual) / actual:+.1%}"


WIDE = 132
"""Below this many columns the tables leave out the sync, saved, batches, estimate and actual
columns (the total line gives the savings; the JSON and CSV outputs have them all)."""


def _table(title: str, rows: list[dict[str, Any]], key: str, *, wide: bool) -> Table:
    """One roll-up: requests, tokens, cost, savings, estimate against actual."""
    names = ["requests", "in tokens", "out tokens", "cost $", "est. err"]
    if wide:
        names = [*names[:4], "sync $", "saved $", "batches", "estimate $", "actual $", "est. err"]
    table = Table(
        Column(key.replace("_", " "), no_wrap=True, overflow="fold"),
        *(Column(name, justify="right", no_wrap=True, min_width=len(name)) for name in names),
        title=title,
        box=box.SIMPLE_HEAD,
    )
    for row in rows:
        cells = {
            "requests": f"{row['requests']:,}",
            "in tokens": f"{row['input_tokens']:,}",
            "out tokens": f"{row['output_tokens']:,}",
            "cost $": f"{row['cost_usd']:.4f}",
            "sync $": f"{row['list_cost_usd']:.4f}",
            "saved $": f"{row['savings_usd']:.4f}",
            "batches": f"{row['batches']:,}",
            "estimate $": f"{row['estimated_cost_usd']:.4f}",
            "actual $": f"{row['actual_cost_usd']:.4f}",
            "est. err": _error(row["estimated_cost_usd"], row["actual_cost_usd"]),
        }
        table.add_row(str(row[key]), *(cells[name] for name in names))
    return table


def print_costs(console: Console, report: dict[str, Any]) -> None:
    """The report as tables by company, provider, model, processing type and day, then the
    totals (and the comparison across providers when asked for)."""
    scope = report["scope"]
    console.print(
        "[bold]batchkernel costs[/bold]"
        + (f" for company {scope['company']}" if scope["company"] else "")
        + (f" since {scope['since'][:10]}" if scope["since"] else "")
    )
    if not report["rows"]:
        console.print("no spend recorded")
        return
    for title, key in (
        ("by company", "company_id"),
        ("by provider (the one that answered)", "provider"),
        ("by model", "model"),
        ("by processing type", "processing_type"),
        ("by day (UTC; open = charged, not finished)", "day"),
    ):
        rows = report[f"by_{key.removesuffix('_id')}"]
        console.print(_table(title, rows, key, wide=console.width >= WIDE))
    totals = report["totals"]
    console.print(
        f"total: ${totals['cost_usd']:.4f} for {totals['requests']:,} requests; the synchronous "
        f"API would have cost ${totals['list_cost_usd']:.4f} (saved ${totals['savings_usd']:.4f}); "
        f"estimated ${totals['estimated_cost_usd']:.4f} against ${totals['actual_cost_usd']:.4f} "
        f"actual over {totals['batches']:,} applied batches "
        f"({_error(totals['estimated_cost_usd'], totals['actual_cost_usd'])})"
    )


def print_compare(console: Console, comparison: dict[str, Any]) -> None:
    """What was spent, and the same tokens at each compared provider's batch price."""
    total = sum(row["cost_usd"] for row in comparison["spent"])
    table = Table(
        Column("provider", no_wrap=True),
        Column("model(s) there", overflow="fold"),
        Column("same tokens $", justify="right", no_wrap=True),
        Column("vs spent", justify="right", no_wrap=True),
        Column("spent there $", justify="right", no_wrap=True),
        title=f"the same tokens at each provider's batch price ({comparison['chosen']})",
        box=box.SIMPLE_HEAD,
    )
    for row in comparison["rows"]:
        models = sorted({m for m in row["models"].values() if m}) or ["no price"]
        if row["unpriced_tokens"]:
            models.append(f"{row['unpriced_tokens']:,} tokens unpriced")
        table.add_row(
            row["provider"],
            ", ".join(models),
            f"{row['cost_usd']:.4f}",
            _error(row["cost_usd"], total),
            f"{row['spent_usd']:.4f}",
        )
    console.print(table)
    spent = ", ".join(f"{r['provider']} ${r['cost_usd']:.4f}" for r in comparison["spent"])
    others = ", ".join(f"{r['provider']} ${r['cost_usd']:.4f}" for r in comparison["rows"])
    console.print(f"spent at {spent or 'no provider'}; the same tokens at {others or '-'}")
    console.print(f"[dim]assuming {comparison['assumption']}[/dim]")


def write_compare_csv(comparison: dict[str, Any]) -> None:
    """The comparison as CSV: one row per compared provider."""
    writer = SafeWriter(sys.stdout)
    writer.writerow(["provider", "models", "cost_usd", "unpriced_tokens", "spent_usd"])
    for row in comparison["rows"]:
        models = ";".join(f"{k}={v or ''}" for k, v in sorted(row["models"].items()))
        writer.writerow(
            [
                row["provider"],
                models,
                _plain(row["cost_usd"]),
                row["unpriced_tokens"],
                _plain(row["spent_usd"]),
            ]
        )
