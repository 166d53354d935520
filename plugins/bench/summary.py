"""From raw runs to the figures the report shows: medians per path and stage, totals, rates,
memory, cache hit rate, and each figure's ratio optimized/original (and optimized/floor)."""

from __future__ import annotations

from statistics import median
from typing import Any

from plugins.bench.floor import FLOOR_STAGES
from plugins.bench.stages import STAGES

DB_STAGES = ("claim", "build", "apply")


def _median(values: list[float]) -> float:
    """Median, 0 for no values."""
    return float(median(values)) if values else 0.0


def _rate(rows: float, seconds: float) -> float | None:
    """Rows per second, None when nothing was timed."""
    return rows / seconds if seconds > 0 else None


def ratio(new: float | None, old: float | None) -> float | None:
    """new / old, None when either is missing or old is zero."""
    if new is None or old is None or old == 0:
        return None
    return new / old


def path_summary(runs: list[dict[str, Any]], memory: dict[str, Any] | None) -> dict[str, Any]:
    """Median figures of one path's runs, with the traced peaks of its memory run."""
    pipeline = "passes" in runs[0]
    names = STAGES if pipeline else FLOOR_STAGES
    requests = runs[0]["requests"]
    stages: dict[str, dict[str, Any]] = {}
    for name in names:
        seconds = _median([run["stages"][name]["seconds"] for run in runs])
        traced_stage = (memory or {}).get("stages", {}).get(name) or {}
        # Stages the traced run never reached (``--memory build`` stops after building).
        traced = traced_stage.get("traced_peak") if traced_stage.get("calls") else None
        stages[name] = {
            "seconds": seconds,
            "cpu_seconds": _median([run["stages"][name]["cpu_seconds"] for run in runs]),
            "queries": int(_median([run["stages"][name]["queries"] for run in runs])),
            "rows_per_second": _rate(requests, seconds),
            "rss_peak_bytes": int(_median([run["stages"][name]["rss_peak"] for run in runs])),
            "rss_growth_bytes": int(_median([run["stages"][name]["rss_growth"] for run in runs])),
            "traced_peak_bytes": traced,
        }
        if pipeline and name == "claim":
            # A pipeline's claim runs inside fetch_pending: its memory is the build stage's.
            stages[name].update(rss_peak_bytes=None, rss_growth_bytes=None, traced_peak_bytes=None)
    totals = [sum(run["stages"][name]["seconds"] for name in names) for run in runs]
    db_totals = [sum(run["stages"][name]["seconds"] for name in DB_STAGES) for run in runs]
    seconds = _median(totals)
    cpu = _median([sum(run["stages"][name]["cpu_seconds"] for name in names) for run in runs])
    db_seconds = _median(db_totals)
    out: dict[str, Any] = {
        "requests": requests,
        "completed": int(_median([run["completed"] for run in runs])),
        "repetitions": len(runs),
        "stages": stages,
        "total": {
            "seconds": seconds,
            "seconds_all_runs": totals,
            "cpu_seconds": cpu,
            "queries": int(
                _median([sum(s["queries"] for s in run["stages"].values()) for run in runs])
            ),
            "rows_per_second": _rate(requests, seconds),
            "rss_peak_bytes": int(_median([run["rss_peak"] for run in runs])),
        },
        "db_stages": {"seconds": db_seconds, "rows_per_second": _rate(requests, db_seconds)},
    }
    if pipeline:
        out["passes"] = int(_median([run["passes"] for run in runs]))
        out["total"]["rss_start_bytes"] = int(_median([run["rss_start"] for run in runs]))
        out["cache"] = runs[-1].get("cache")
        out["fallback_events"] = max(run.get("fallback_events", 0) for run in runs)
    return out


def ratios(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """Each comparable figure of ``new`` divided by the same figure of ``old``."""
    stages = {}
    for name, figures in new["stages"].items():
        base = old["stages"].get(name)
        if base is None:
            continue
        stages[name] = {key: ratio(figures[key], base[key]) for key in figures}
    total = {
        key: ratio(value, old["total"].get(key))
        for key, value in new["total"].items()
        if not isinstance(value, list)
    }
    db = {key: ratio(value, old["db_stages"][key]) for key, value in new["db_stages"].items()}
    return {"stages": stages, "total": total, "db_stages": db}


def summarize(
    runs: dict[str, list[dict[str, Any]]], memory: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Per-path summaries and the ratios optimized/original and optimized/floor."""
    paths = {path: path_summary(found, memory.get(path)) for path, found in runs.items() if found}
    out: dict[str, Any] = {"paths": paths, "ratios": {}}
    if "optimized" in paths and "original" in paths:
        out["ratios"]["optimized/original"] = ratios(paths["optimized"], paths["original"])
    if "optimized" in paths and "floor" in paths:
        out["ratios"]["optimized/floor"] = ratios(paths["optimized"], paths["floor"])
    return out
