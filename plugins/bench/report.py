"""The report for people: rich tables of time, queries and memory per stage, the whole run, and
the targets; every figure with its ratio optimized/original (and optimized/floor)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from plugins.bench.floor import FLOOR_STAGES
from plugins.bench.stages import STAGES
from plugins.bench.summary import ratio
from plugins.bench.targets import building_peak, check

STAGE_TITLES = {
    "companies": "fetch companies",
    "build": "fetch pending + build files",
    "claim": "claim",
    "submit": "submit (provider) + record",
    "poll": "poll",
    "download": "download results (provider)",
    "apply": "apply results",
    "retry": "retry",
}
PATH_ORDER = ("original", "optimized", "floor")


def seconds(value: float | None) -> str:
    """Seconds with a precision that suits their size."""
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def count(value: float | None) -> str:
    """A whole number with thousands separators."""
    return "-" if value is None else f"{int(value):,}"


def mib(value: float | None) -> str:
    """Bytes as MiB."""
    return "-" if value is None else f"{value / 2**20:.1f} MiB"


def rate(value: float | None) -> str:
    """Rows per second."""
    return "-" if value is None else f"{value:,.0f}/s"


def times(value: float | None) -> str:
    """A ratio as a factor."""
    if value is None:
        return "-"
    return f"{value:.4f}x" if value < 0.01 else f"{value:.2f}x"


def percent(value: float | None) -> str:
    """A fraction as a percentage."""
    return "-" if value is None else f"{value:.1%}"


def stage_table(
    report: dict[str, Any], title: str, key: str, show: Callable[[float | None], str]
) -> Table:
    """One figure per stage for every path, with the ratios."""
    paths = report["paths"]
    present = [p for p in PATH_ORDER if p in paths]
    table = Table(title=title, title_justify="left")
    table.add_column("stage")
    for path in present:
        table.add_column(path, justify="right")
    table.add_column("optimized/original", justify="right")
    if "floor" in paths:
        table.add_column("optimized/floor", justify="right")
    for name in STAGES:
        values = {p: (paths[p]["stages"].get(name) or {}).get(key) for p in present}
        if all(v is None for v in values.values()):
            continue
        row = [STAGE_TITLES[name], *(show(values[p]) for p in present)]
        row.append(times(ratio(values.get("optimized"), values.get("original"))))
        if "floor" in paths:
            floor = values.get("floor") if name in FLOOR_STAGES else None
            row.append(times(ratio(values.get("optimized"), floor)))
        table.add_row(*row)
    return table


def run_table(report: dict[str, Any]) -> Table:
    """Whole-run figures for every path."""
    paths = report["paths"]
    present = [p for p in PATH_ORDER if p in paths]
    table = Table(title="whole run, pending to complete (medians)", title_justify="left")
    table.add_column("figure")
    for path in present:
        table.add_column(path, justify="right")
    table.add_column("optimized/original", justify="right")

    def row(label: str, show: Callable[[Any], str], get: Callable[[dict[str, Any]], Any]) -> None:
        values = {p: get(paths[p]) for p in present}
        both = (values.get("optimized"), values.get("original"))
        numeric = all(isinstance(v, int | float) for v in both)
        table.add_row(
            label,
            *(show(values[p]) for p in present),
            times(ratio(*both)) if numeric else "-",
        )

    row("requests completed", count, lambda s: s["completed"])
    row("wall time (s)", seconds, lambda s: s["total"]["seconds"])
    row("CPU time of the process (s)", seconds, lambda s: s["total"]["cpu_seconds"])
    row("queries", count, lambda s: s["total"]["queries"])
    row("requests per second", rate, lambda s: s["total"]["rows_per_second"])
    row("claim + build + apply (s)", seconds, lambda s: s["db_stages"]["seconds"])
    row("peak RSS of the run", mib, lambda s: s["total"]["rss_peak_bytes"])
    row(
        "RSS growth while building",
        mib,
        lambda s: max(s["stages"][n]["rss_growth_bytes"] or 0 for n in ("claim", "build")),
    )
    row("traced peak while building", mib, building_peak)
    row("cache hit rate (this run)", percent, lambda s: (s.get("cache") or {}).get("hit_rate"))
    row("scheduler passes", count, lambda s: s.get("passes"))
    return table


def target_table(targets: list[dict[str, Any]]) -> Table:
    """Each target with its measured value and verdict."""
    table = Table(title="targets", title_justify="left")
    for name in ("target", "measured", "limit", "met"):
        table.add_column(name, justify="left" if name == "target" else "right")
    for row in targets:
        sign = ">=" if row["at_least"] else "<="
        value = row["value"]
        shown = "not measured" if value is None else f"{value:,.4g}"
        verdict = {True: "[green]yes[/green]", False: "[red]no[/red]", None: "-"}[row["met"]]
        table.add_row(row["target"], shown, f"{sign} {row['limit']:,}", verdict)
    return table


def print_report(console: Console, report: dict[str, Any]) -> None:
    """Every table of one bench run."""
    options = report["options"]["data"]
    console.print(
        f"[bold]batchkernel bench[/bold] on {report['database']}: {options['companies']:,} "
        f"companies, {options['sessions']:,} pending requests, {options['messages']} messages "
        f"each; {next(iter(report['paths'].values()))['repetitions']} repetitions, medians; "
        f"{report['environment']['cpus']} CPUs, {report['environment']['date']}"
    )
    console.print(stage_table(report, "wall time per stage (s)", "seconds", seconds))
    console.print(
        stage_table(report, "CPU time of the process per stage (s)", "cpu_seconds", seconds)
    )
    console.print(stage_table(report, "queries per stage", "queries", count))
    console.print(stage_table(report, "requests per second per stage", "rows_per_second", rate))
    console.print(stage_table(report, "peak RSS per stage", "rss_peak_bytes", mib))
    console.print(stage_table(report, "RSS growth per stage", "rss_growth_bytes", mib))
    console.print(
        stage_table(report, "tracemalloc peak per stage (traced run)", "traced_peak_bytes", mib)
    )
    console.print(run_table(report))
    cache = report.get("cache_simulated_hour") or {}
    if cache.get("measured"):
        console.print(
            f"company cache ({cache['backend']}), simulated hour at default intervals: "
            f"{cache['lookups']} lookups, {cache['hits']} hits, {cache['misses']} misses, "
            f"{cache['refreshes']} refreshes, hit rate {percent(cache['hit_rate'])}, "
            f"{cache['database_reads']} database reads"
        )
    else:
        console.print(f"company cache: not measured ({cache.get('reason', 'no cache')})")
    console.print(target_table(report.get("targets") or check(report)))
