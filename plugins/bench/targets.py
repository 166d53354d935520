"""The issue's targets, checked against a report: each with its measured value and a verdict
(None when the run did not measure it, e.g. growth outside ``--scale``)."""

from __future__ import annotations

from typing import Any

from plugins.bench.summary import ratio


def _get(data: Any, *keys: str) -> Any:
    """A nested value, None when any key is missing."""
    for key in keys:
        if not isinstance(data, dict) or data.get(key) is None:
            return None
        data = data[key]
    return data


def building_peak(summary: dict[str, Any]) -> int | None:
    """Traced peak while building batches: the create task's claim and files together."""
    stages = summary["stages"]
    peaks = [(stages.get(name) or {}).get("traced_peak_bytes") for name in ("claim", "build")]
    found = [peak for peak in peaks if peak is not None]
    return max(found) if found else None


def target(name: str, value: float | None, limit: float, *, at_least: bool) -> dict[str, Any]:
    """One target row."""
    met = None if value is None else (value >= limit if at_least else value <= limit)
    return {"target": name, "value": value, "limit": limit, "at_least": at_least, "met": met}


def check(report: dict[str, Any], growth: float | None = None) -> list[dict[str, Any]]:
    """Every target the report can speak to."""
    paths = report["paths"]
    original, optimized, floor = paths.get("original"), paths.get("optimized"), paths.get("floor")
    rows = []
    if original and optimized:
        rows.append(
            target(
                "queries per full run, optimized/original",
                ratio(optimized["total"]["queries"], original["total"]["queries"]),
                0.01,
                at_least=False,
            )
        )
        rows.append(
            target(
                "traced peak while building batches, optimized/original",
                ratio(building_peak(optimized), building_peak(original)),
                0.20,
                at_least=False,
            )
        )
        rows.append(
            target(
                "applying results, original/optimized seconds (speed-up)",
                ratio(
                    _get(original, "stages", "apply", "seconds"),
                    _get(optimized, "stages", "apply", "seconds"),
                ),
                20.0,
                at_least=True,
            )
        )
    if optimized:
        rows.append(
            target(
                "whole pipeline, optimized requests per second",
                optimized["total"]["rows_per_second"],
                8000.0,
                at_least=True,
            )
        )
    if optimized and floor:
        rows.append(
            target(
                "claim + build + apply, optimized/floor seconds",
                ratio(optimized["db_stages"]["seconds"], floor["db_stages"]["seconds"]),
                2.0,
                at_least=False,
            )
        )
    rows.append(
        target(
            "company-cache hit rate, simulated hour at default intervals",
            _get(report, "cache_simulated_hour", "hit_rate"),
            0.99,
            at_least=True,
        )
    )
    if growth is not None:
        rows.append(
            target(
                "optimized traced building peak growth, 10,000 -> 100,000 pending",
                growth,
                0.25,
                at_least=False,
            )
        )
    return rows
