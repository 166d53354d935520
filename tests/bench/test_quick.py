"""The bench's quick mode: small data sets, real runs in child processes against the emulator,
asserting ratios and growth (never absolute times, which depend on the machine)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.console import Console

from plugins.bench.options import BenchOptions, DataSpec
from plugins.bench.report import print_report
from plugins.bench.runner import run_bench
from plugins.bench.targets import building_peak, check
from tests.support.shared import built_once

# The runs are built once a test run (whichever worker asks first; the others wait for them)
# inside a test's time limit: generous, so a loaded machine is slower, not red.
pytestmark = pytest.mark.timeout(1200)


def bench(workdir: Path, companies: int, sessions: int, **options: Any) -> dict[str, Any]:
    """One bench run with one repetition on a SQLite file."""
    data = DataSpec(companies=companies, sessions=sessions, messages=10)
    return run_bench(BenchOptions(data=data, repetitions=1, workdir=workdir, **options))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Both paths and the floor on 300 requests of 5 companies, both paths on 1,500 requests of
    5 companies (where the original holds 300 sessions at once), the optimized path alone on 300
    requests of 50 companies."""

    def build(root: Path) -> dict[str, dict[str, Any]]:
        return {
            "small": bench(root / "small", 5, 300),
            "large": bench(root / "large", 5, 1500, floor=False),
            "companies": bench(
                root / "companies", 50, 300, paths=("optimized",), floor=False, memory=""
            ),
        }

    runs: dict[str, dict[str, Any]] = built_once(tmp_path_factory, "bench-quick", build)
    return runs


def test_every_path_completes_every_request(runs: dict[str, dict[str, Any]]) -> None:
    for path, summary in runs["small"]["paths"].items():
        assert summary["completed"] == summary["requests"] == 300, path
    assert runs["large"]["paths"]["optimized"]["completed"] == 1500


def test_optimized_needs_under_a_tenth_of_the_original_queries(
    runs: dict[str, dict[str, Any]],
) -> None:
    ratios = runs["small"]["ratios"]["optimized/original"]
    assert ratios["total"]["queries"] < 0.10
    assert ratios["stages"]["apply"]["queries"] < 0.05


def test_optimized_queries_do_not_grow_with_companies_or_requests(
    runs: dict[str, dict[str, Any]],
) -> None:
    queries = {name: run["paths"]["optimized"]["total"]["queries"] for name, run in runs.items()}
    assert queries["small"] == queries["companies"] == queries["large"], queries


def test_original_queries_grow_with_requests(runs: dict[str, dict[str, Any]]) -> None:
    small = runs["small"]["paths"]["original"]["total"]["queries"]
    large = runs["large"]["paths"]["original"]["total"]["queries"]
    assert large > 4 * small, (small, large)  # five times the requests


def peak(summary: dict[str, Any]) -> int:
    """The run's building peak, which every benchmark run measures."""
    measured = building_peak(summary)
    assert measured is not None, "no building peak measured"
    return measured


def test_building_memory_is_lower_and_grows_less_than_the_backlog(
    runs: dict[str, dict[str, Any]],
) -> None:
    large = runs["large"]["paths"]
    ratio = peak(large["optimized"]) / peak(large["original"])
    assert ratio < 0.5, ratio
    small = runs["small"]["paths"]
    optimized = peak(large["optimized"]) / peak(small["optimized"])
    original = peak(large["original"]) / peak(small["original"])
    assert optimized < 0.5 * original, (optimized, original)


def test_the_floor_does_the_same_work_with_fewer_statements(
    runs: dict[str, dict[str, Any]],
) -> None:
    paths = runs["small"]["paths"]
    assert paths["floor"]["total"]["queries"] <= paths["optimized"]["total"]["queries"]
    assert runs["small"]["ratios"]["optimized/floor"]["db_stages"]["seconds"] > 0


def test_the_cache_hour_is_simulated(runs: dict[str, dict[str, Any]]) -> None:
    cache = runs["small"]["cache_simulated_hour"]
    if cache["measured"]:
        assert cache["lookups"] == 114
        assert cache["hits"] + cache["misses"] == 114


def test_the_report_renders_as_tables_and_json(runs: dict[str, dict[str, Any]]) -> None:
    report = dict(runs["small"], targets=check(runs["small"]))
    console = Console(file=io.StringIO(), width=160)
    print_report(console, report)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    for title in ("wall time per stage", "queries per stage", "whole run", "targets"):
        assert title in text
    assert orjson.loads(orjson.dumps(report))["paths"]["optimized"]["completed"] == 300
