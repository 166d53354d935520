"""Queries per full cycle (create, poll, apply, retry) and per run until idle, counted with the
kernel's query counter both as driver calls and as the statements the database runs (an
executemany is one statement per row on the server): constant for the optimized processor,
growing with companies and lines for the original."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plugins.emulator import EmulatorConfig, EmulatorServer
from tests.processors.support import cycle_counts, idle_run_counts, loaded_kernel, other_database


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    """A zero-latency emulator."""
    with EmulatorServer(EmulatorConfig()).start() as emulator:
        yield emulator


def measure(
    make_kernel: Any,
    url: str,
    tmp_path: Path,
    server: Any,
    processor: str,
    companies: int,
    sessions: int,
    **settings: Any,
) -> dict[str, int]:
    """Driver calls of one full cycle on fresh data, per task and in total, plus the statements
    the database ran for it (``statements``); every request must be complete after it."""
    kernel = loaded_kernel(
        make_kernel,
        url,
        tmp_path,
        server,
        processor=processor,
        companies=companies,
        sessions=sessions,
        **settings,
    )
    counts = cycle_counts(kernel)
    from plugins.common.schema.queries import requests_by_status

    assert requests_by_status(kernel.db) == {"PROCESSING_COMPLETE": sessions}
    return counts["queries"] | {"statements": counts["statements"]["total"]}


def test_optimized_queries_are_the_same_for_10_and_200_companies(
    make_kernel: Any, db_url: str, tmp_path: Path, server: Any, request: Any
) -> None:
    few = measure(make_kernel, db_url, tmp_path / "few", server, "optimized", 10, 400)
    other = other_database(db_url, tmp_path, request)
    many = measure(make_kernel, other, tmp_path / "many", server, "optimized", 200, 400)
    assert few == many
    assert few["total"] <= 40


@pytest.mark.parametrize(
    "lines",
    [
        # 30 times the small run's lines; the full 10,000 in the slow run.
        3_000,
        pytest.param(10_000, marks=pytest.mark.slow),
    ],
)
def test_optimized_queries_are_the_same_for_100_lines_and_many(
    make_kernel: Any, db_url: str, tmp_path: Path, server: Any, request: Any, lines: int
) -> None:
    settings = {"batch__max_requests_per_batch": 10_000, "processing__chunk_size": 10_000}
    small = measure(make_kernel, db_url, tmp_path / "s", server, "optimized", 1, 100, **settings)
    other = other_database(db_url, tmp_path, request)
    big = measure(make_kernel, other, tmp_path / "b", server, "optimized", 1, lines, **settings)
    assert small == big


@pytest.mark.slow  # 1,000 batches through the emulator on both databases: CI runs it in the slow step
def test_statements_of_a_run_until_idle_are_the_same_for_10_and_1000_companies(
    make_kernel: Any, db_url: str, tmp_path: Path, server: Any, request: Any
) -> None:
    """1,000 sessions as 10 batches of 100 or as 1,000 batches of one: every pass of the run
    (a cycle of every task) and the whole run cost the database the same statements."""
    runs = {}
    for companies, url in ((10, db_url), (1000, other_database(db_url, tmp_path, request))):
        kernel = loaded_kernel(
            make_kernel,
            url,
            tmp_path / str(companies),
            server,
            processor="optimized",
            companies=companies,
            sessions=1000,
        )
        runs[companies] = idle_run_counts(kernel)
        from plugins.common.schema.queries import batches_by_status, requests_by_status

        assert requests_by_status(kernel.db) == {"PROCESSING_COMPLETE": 1000}
        assert batches_by_status(kernel.db) == {"APPLIED": companies}
    few, many = runs[10], runs[1000]
    assert few["passes"] == many["passes"]
    assert few["per_pass"] == many["per_pass"]
    assert few["statements"] == many["statements"]
    assert few["statements"] <= 80 * few["passes"]


@pytest.mark.slow  # the original path on 1,000 lines, a query per line: CI runs it in the slow step
def test_original_queries_grow_with_companies_and_lines(
    make_kernel: Any, sqlite_url: str, tmp_path: Path, server: Any
) -> None:
    few = measure(make_kernel, sqlite_url, tmp_path / "a", server, "original", 5, 100)
    many = measure(
        make_kernel, f"sqlite:///{tmp_path}/b.db", tmp_path / "b", server, "original", 50, 100
    )
    more_lines = measure(
        make_kernel, f"sqlite:///{tmp_path}/c.db", tmp_path / "c", server, "original", 5, 1000
    )
    optimized = measure(
        make_kernel, f"sqlite:///{tmp_path}/d.db", tmp_path / "d", server, "optimized", 5, 1000
    )
    assert many["total"] > few["total"] + 4 * 45
    assert more_lines["apply"] > 3 * 1000
    assert optimized["total"] * 50 <= more_lines["total"]
