"""The bench's stage driver in a traced building run: it claims and writes files, then stops
before any submission and leaves no input file behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plugins.bench.stages import StageDriver
from plugins.common.importing.importer import import_file
from plugins.common.schema.queries import requests_by_status
from plugins.common.synthetic import write_jsonl


def test_a_building_run_stops_before_submitting_and_removes_its_files(
    make_kernel: Any, sqlite_url: str, tmp_path: Path
) -> None:
    # Nothing answers at this address: a submission would fail the run.
    kernel = make_kernel(
        sqlite_url, plugins__processor="optimized", openai__base_url="http://127.0.0.1:9/v1"
    )
    import_file(kernel, write_jsonl(tmp_path / "sessions.jsonl", 2, 20, seed=3))
    figures = StageDriver(kernel, first_create=True).run()
    assert figures.stages["build"].calls == 1
    assert figures.stages["submit"].calls == 0
    assert requests_by_status(kernel.db) == {"BATCHING_IN_PROGRESS": 20}
    assert list(kernel.workdir.glob("*.input.jsonl")) == []
