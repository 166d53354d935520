"""``--scale``: the same bench at several backlog sizes (default 1,000, 10,000 and 100,000
pending requests) and how each figure grows from one size to the next, for every path."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from typing import Any

from rich.table import Table

from plugins.bench.options import BenchOptions
from plugins.bench.report import count, mib, rate, seconds, times
from plugins.bench.runner import Listener, run_bench
from plugins.bench.summary import ratio
from plugins.bench.targets import building_peak, check

SIZES = (1_000, 10_000, 100_000)
FIGURES: dict[str, tuple[Callable[[dict[str, Any]], Any], Callable[[Any], str]]] = {
    "queries": (lambda s: s["total"]["queries"], count),
    "wall time (s)": (lambda s: s["total"]["seconds"], seconds),
    "requests per second": (lambda s: s["total"]["rows_per_second"], rate),
    "apply results (s)": (lambda s: s["stages"]["apply"]["seconds"], seconds),
    "claim + build + apply (s)": (lambda s: s["db_stages"]["seconds"], seconds),
    "peak RSS": (lambda s: s["total"]["rss_peak_bytes"], mib),
    "traced peak while building": (building_peak, mib),
}


def growth(reports: Sequence[dict[str, Any]]) -> dict[str, dict[str, list[float | None]]]:
    """For each path and figure: its value at each size divided by its value at the size before."""
    out: dict[str, dict[str, list[float | None]]] = {}
    for path in reports[0]["paths"]:
        out[path] = {}
        for name, (get, _show) in FIGURES.items():
            values = [_value(get, report["paths"][path]) for report in reports]
            out[path][name] = [ratio(new, old) for old, new in itertools.pairwise(values)]
    return out


def _value(get: Callable[[dict[str, Any]], Any], summary: dict[str, Any]) -> Any:
    """A figure, None where the path does not have it (the floor's stages)."""
    try:
        return get(summary)
    except KeyError:
        return None


def run_scale(
    options: BenchOptions, sizes: Sequence[int] = SIZES, listener: Listener | None = None
) -> dict[str, Any]:
    """One bench per size; the reports, the growth factors and the targets."""
    reports = []
    for size in sizes:
        data = dataclasses.replace(options.data, sessions=size)
        reports.append(run_bench(dataclasses.replace(options, data=data), listener))
    factors = growth(reports)
    peaks = [
        building_peak(report["paths"].get("optimized") or {"stages": {}}) for report in reports
    ]
    memory_growth = None
    if 10_000 in sizes and 100_000 in sizes and "optimized" in reports[0]["paths"]:
        small, large = peaks[sizes.index(10_000)], peaks[sizes.index(100_000)]
        memory_growth = None if not small or large is None else large / small - 1
    return {
        "sizes": list(sizes),
        "reports": reports,
        "growth": factors,
        "targets": check(reports[-1], memory_growth),
        "optimized_building_peak_growth_10k_100k": memory_growth,
    }


def scale_table(result: dict[str, Any]) -> Table:
    """Each figure at each size and its growth factor from the size before, per path."""
    sizes = result["sizes"]
    table = Table(title="growth with the backlog (medians)", title_justify="left")
    table.add_column("path")
    table.add_column("figure")
    for size in sizes:
        table.add_column(f"{size:,}", justify="right")
    for before, after in itertools.pairwise(sizes):
        table.add_column(f"x {before:,}->{after:,}", justify="right")
    for path in result["reports"][0]["paths"]:
        for name, (get, show) in FIGURES.items():
            values = [_value(get, report["paths"][path]) for report in result["reports"]]
            if all(value is None for value in values):
                continue
            factors = result["growth"][path][name]
            table.add_row(path, name, *(show(v) for v in values), *(times(f) for f in factors))
    return table
