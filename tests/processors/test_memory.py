"""Peak Python memory (tracemalloc) while building batches: several times lower with the
optimized processor, and nearly flat in the size of the backlog.

Each kernel is warmed up first on a small backlog, as a long-running scheduler is: the one-time
allocations (compiled SQL, price versions, caches) are then outside the measured peak.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from plugins.common.importing.importer import import_file
from plugins.common.synthetic import write_jsonl
from plugins.emulator import EmulatorConfig, EmulatorServer
from tests.processors.support import loaded_kernel


def peak_while_building(
    make_kernel: Any, tmp_path: Path, server: Any, processor: str, pending: int
) -> tuple[int, int]:
    """(peak bytes above the start, requests planned) for one warm ``fetch_pending`` call."""
    folder = tmp_path / f"{processor}-{pending}"
    kernel = loaded_kernel(
        make_kernel,
        f"sqlite:///{tmp_path}/{processor}-{pending}.db",
        folder,
        server,
        processor=processor,
        companies=20,
        sessions=200,
        messages=8,
    )
    kernel.fetch_pending(kernel.get_companies())
    source = write_jsonl(folder / "backlog.jsonl", 20, pending, seed=12, messages=8)
    for line_file in (source,):
        text = line_file.read_text().replace('"session-', '"backlog-')
        line_file.write_text(text)
    assert import_file(kernel, source).requests_created == pending
    companies = kernel.get_companies()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        plans = kernel.fetch_pending(companies)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    return peak, sum(plan.request_count for plan in plans)


@pytest.mark.slow  # 45,000 imported requests: CI runs it in the slow step
@pytest.mark.timeout(1200)  # a hang guard: ~75 s alone, over 300 s on a machine busy with tests
def test_optimized_builds_batches_in_a_fraction_of_the_memory(
    make_kernel: Any, tmp_path: Path
) -> None:
    with EmulatorServer(EmulatorConfig()).start() as server:
        original, planned = peak_while_building(make_kernel, tmp_path, server, "original", 20_000)
        assert planned == 20_000
        small, _ = peak_while_building(make_kernel, tmp_path, server, "optimized", 5_000)
        large, planned = peak_while_building(make_kernel, tmp_path, server, "optimized", 20_000)
        assert planned == 20_000
    assert large * 3 <= original, (large, original)
    assert large <= small * 1.5, (small, large)
