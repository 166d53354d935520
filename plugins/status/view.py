"""``batchkernel status`` as text: rich tables over the snapshot; "no data" where nothing reported."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from plugins.common.monitoring.snapshot import LIVE_BATCH_STATUSES

NO_DATA = "[dim]no data[/dim]"


def _age(seconds: float | None) -> str:
    """A duration in the most readable unit."""
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _count(count: int, one: str, many: str) -> str:
    """``1 query``, ``3 queries``."""
    return f"{count:,} {one if count == 1 else many}"


def _totals(snapshot: dict[str, Any]) -> Table:
    """Requests and batches by state, usage and the oldest pending request."""
    table = Table(title="totals", show_header=False)
    for state, count in snapshot["requests"]["by_state"].items():
        table.add_row(f"requests {state}", f"{count:,}")
    for state, count in snapshot["batches"]["by_state"].items():
        if count:
            table.add_row(f"batches {state}", f"{count:,}")
    usage = snapshot["usage"]
    table.add_row(
        "input / output tokens", f"{usage['input_tokens']:,} / {usage['output_tokens']:,}"
    )
    table.add_row("cost so far (USD)", f"{usage['cost_usd']:.4f}")
    oldest = snapshot["oldest_pending"]
    table.add_row(
        "oldest pending",
        f"{_age(oldest['age_seconds'])} ({oldest['company_id']})" if oldest else "none pending",
    )
    return table


def _company_cells(label: str, row: dict[str, Any], oldest: str) -> list[str]:
    """One company (or the "other" aggregate) as table cells."""
    r = row["requests"]
    return [
        label,
        f"{r['PENDING_BATCHING']:,}",
        f"{r['BATCHING_IN_PROGRESS']:,}",
        f"{r['PROCESSING_COMPLETE']:,}",
        f"{r['PROCESSING_FAILED']:,}",
        f"{sum(row['batches'].values()):,}",
        oldest,
        f"{row['cost_usd']:.4f}",
    ]


def _companies(snapshot: dict[str, Any]) -> Table:
    """The top companies by backlog then cost, one row each, then one row for all the others."""
    info = snapshot["companies_page"]
    shown = len(snapshot["companies"])
    title = (
        f"companies: top {shown} of {info['total']:,} by backlog, then cost"
        if snapshot.get("other")
        else None
    )
    table = Table(
        Column("company", no_wrap=True, overflow="fold"),
        *(
            Column(name, justify="right", no_wrap=True, min_width=len(name))
            for name in ("pending", "in flight", "complete", "failed", "batches", "oldest", "cost")
        ),
        title=title,
        box=box.SIMPLE_HEAD,
    )
    for row in snapshot["companies"]:
        table.add_row(*_company_cells(row["id"], row, _age(row["oldest_pending_age_seconds"])))
    other = snapshot.get("other")
    if other:
        label = f"[dim]{other['companies']:,} other companies[/dim]"
        table.add_row(*_company_cells(label, other, ""))
    return table


def _providers(snapshot: dict[str, Any]) -> Table:
    """Per provider: batches live and in all, requests in flight and sent, what it reported
    completed and failed, and the cost applied."""
    names = ("live", "batches", "in flight", "sent", "done", "failed", "cost")
    table = Table(
        Column("provider", no_wrap=True, min_width=len("provider")),
        *(Column(name, justify="right", no_wrap=True, min_width=len(name)) for name in names),
        title="by provider: batches live and all; requests in its batches (done, failed: as "
        "it reported)",
        box=box.SIMPLE_HEAD,
    )
    for row in snapshot.get("providers") or []:
        batches = row["batches"]
        live = sum(n for state, n in batches.items() if state in LIVE_BATCH_STATUSES)
        table.add_row(
            escape(row["provider"]),
            *(
                f"{n:,}"
                for n in (
                    live,
                    sum(batches.values()),
                    row["requests_in_flight"],
                    row["requests_sent"],
                    row["completed"],
                    row["failed"],
                )
            ),
            f"{row['cost_usd']:.4f}",
        )
    if not table.rows:
        table.add_row("none yet", *["-"] * len(names))
    return table


def _budgets(snapshot: dict[str, Any]) -> Table:
    """Each budget's committed spend, and why work waits (budgets, enqueued-token limits)."""
    section = snapshot.get("budgets") or {}
    table = Table(title="budgets and holds", show_header=False)
    for row in section.get("budgets", []):
        who = "overall" if row["scope"] == "*" else row["scope"]
        colour = {"exhausted": "red", "warning": "yellow"}.get(row["state"], "green")
        table.add_row(
            f"{who} per {row['period']}",
            f"${row['committed_usd']:.4f} of ${row['limit_usd']:.2f} "
            f"[{colour}]{row['state']}[/{colour}]",
        )
    for hold in section.get("holds", []):
        table.add_row(f"[yellow]waiting[/yellow] {hold['scope']}", hold["reason"])
    hidden = section.get("budgets_total", 0) - len(section.get("budgets", []))
    held = section.get("holds_total", 0) - len(section.get("holds", []))
    if hidden > 0 or held > 0:
        table.add_row("[dim]not shown[/dim]", f"{hidden:,} more budgets, {held:,} more holds")
    if not table.rows:
        table.add_row("budgets", "none configured; nothing waiting")
    return table


def _scheduler(snapshot: dict[str, Any]) -> Table:
    """Instances, last cycle and each task's last run."""
    sched = snapshot["scheduler"]
    table = Table(title="scheduler", show_header=False)
    table.add_row("instances live", f"{sched['live']} of {len(sched['instances'])} recorded")
    for inst in sched["instances"][:5]:
        state = "live" if inst["live"] else ("stopped" if inst["stopped_at"] else "silent")
        table.add_row(
            f"  {inst['id']}", f"{state}, last beat {_age(inst['heartbeat_age_seconds'])} ago"
        )
    cycle = snapshot.get("last_cycle")
    table.add_row(
        "last cycle",
        f"{cycle['seconds']:.3f} s, {_count(cycle['queries'], 'query', 'queries')} "
        f"({cycle['finished_at']})"
        if cycle
        else NO_DATA,
    )
    for task, report in (snapshot.get("tasks") or {}).items():
        error = f" [red]{report['error']}[/red]" if report.get("error") else ""
        table.add_row(
            f"  task {task}",
            f"{report['seconds']:.3f} s, {_count(report['queries'], 'query', 'queries')}{error}",
        )
    return table


def _text(value: Any) -> str:
    """One value as text: numbers with separators, ``-`` for none, markup escaped."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    return escape(str(value))


def _inline(value: Any) -> str:
    """A value on one line: tables as ``key value, key value`` (nested ones in parentheses),
    lists comma-separated."""
    if isinstance(value, dict):
        if not value:
            return "-"
        return ", ".join(
            f"{escape(str(key))} ({_inline(item)})"
            if isinstance(item, dict)
            else f"{escape(str(key))} {_inline(item)}"
            for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        return ", ".join(_inline(item) for item in value) or "-"
    return _text(value)


def _lines(label: str, value: Any, depth: int = 0) -> Iterator[tuple[str, str]]:
    """A section as labelled lines: its keys one a line, a key holding tables of tables split
    once more, and whatever is deeper written inline, so no line is a raw structure."""
    nested = isinstance(value, dict) and any(isinstance(v, dict) for v in value.values())
    if nested and depth < 2:
        for key, item in value.items():
            yield from _lines(f"{label} {key}", item, depth + 1)
    else:
        yield escape(label), _inline(value)


def _plugins(snapshot: dict[str, Any]) -> Table:
    """Every plugin's section (cache, fallback, breakers, telemetry...), merged over the live
    instances by the plugin that owns it, as labelled lines."""
    table = Table(Column(no_wrap=True), Column(overflow="fold"), title="plugins", show_header=False)
    for name in snapshot.get("plugin_sections") or []:
        section = snapshot.get(name)
        rows = section.items() if isinstance(section, dict) else [("", section)]
        for key, item in rows:
            for label, text in _lines(f"{name} {key}".strip(), item, 1):
                table.add_row(label, text)
    if not table.rows:
        table.add_row("plugins", NO_DATA)
    return table


def _actions(snapshot: dict[str, Any]) -> Table:
    """The latest operator actions (cancel, retry, pause...) from the audit log."""
    table = Table("when (UTC)", "who", "action", "target", "result", title="recent actions")
    for row in snapshot.get("audit") or []:
        colour = "green" if row["result"] == "ok" else "red"
        table.add_row(
            str(row["at"])[:19].replace("T", " "),
            escape(row["actor"]),
            row["action"],
            escape(row["target"]),
            f"[{colour}]{row['result']}[/{colour}]",
        )
    if not table.rows:
        table.add_row("-", "-", "none yet", "-", "-")
    return table


def print_status(console: Console, snapshot: dict[str, Any]) -> None:
    """Print the snapshot as tables."""
    scope = snapshot["scope"]["company"]
    console.print(
        f"[bold]batchkernel status[/bold] at {snapshot['generated_at']}"
        + (f" for company {scope}" if scope else "")
    )
    console.print(_totals(snapshot))
    console.print(_companies(snapshot))
    console.print(_providers(snapshot))
    console.print(_budgets(snapshot))
    console.print(_scheduler(snapshot))
    console.print(_plugins(snapshot))
    console.print(_actions(snapshot))
