"""File cleanup through the scheduler, on both databases: a batch counts as cleaned only once its
provider files are gone, later passes retry, the reconcile task's sweep removes strays, and a
lifecycle run with failing deletes ends with no file left at the provider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from sqlalchemy import select

from kernel.api import KernelAPI
from kernel.scheduler import Scheduler
from plugins.common.schema.models import AIBatchRequest
from plugins.common.until_idle import run_until_idle
from plugins.emulator import EmulatorConfig, EmulatorServer
from tests.reliability.support import load


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    """A fault-free emulator with an instant lifecycle."""
    with EmulatorServer(EmulatorConfig(seed=4)) as emulator:
        yield emulator


def _kernel(make_kernel: Any, db_url: str, server: EmulatorServer, **settings: Any) -> Any:
    """A kernel on ``db_url`` pointed at ``server``, small batches, a sweep on every reconcile."""
    options = {
        "openai__base_url": server.base_url,
        "openai__max_retries": 0,
        "openai__circuit_failure_threshold": 1_000,
        "openai__sweep_interval_seconds": 0,
        "plugins__cache": "none",
        "batch__min_batch_size": 1,
        "batch__max_requests_per_batch": 5,
    } | settings
    return make_kernel(db_url, **options)


def _batches(kernel: KernelAPI) -> list[AIBatchRequest]:
    """Every local batch row."""
    with kernel.db.transaction() as session:
        return list(session.scalars(select(AIBatchRequest)))


def _live(server: EmulatorServer) -> list[dict[str, Any]]:
    """Files still at the emulator."""
    return [f for f in server.ledger()["files"] if not f["deleted"]]


def test_a_batch_whose_delete_failed_stays_uncleaned_and_a_later_pass_cleans_it(
    make_kernel: Any, db_url: str, tmp_path: Path, server: EmulatorServer
) -> None:
    load(db_url, tmp_path, sessions=12, companies=2)
    kernel = _kernel(make_kernel, db_url, server)
    scheduler = Scheduler(kernel, record=False)
    scheduler.run_task("create")
    scheduler.run_task("poll")
    server.configure(first_500={"files.delete": 1_000})
    report = scheduler.run_task("apply")
    assert report.error is None and report.counts["cleanup_failures"] > 0
    applied = [b for b in _batches(kernel) if b.status == "APPLIED"]
    assert applied and all(b.files_deleted_at is None for b in applied)
    assert len(_live(server)) == 2 * len(applied), "every input and output file is still there"

    server.configure(first_500={})
    report = scheduler.run_task("apply")
    assert report.counts["cleaned_late"] == len(applied)
    assert all(b.files_deleted_at is not None for b in _batches(kernel))
    assert _live(server) == []


def test_the_reconcile_sweep_deletes_files_of_finished_batches_left_behind(
    make_kernel: Any, db_url: str, tmp_path: Path, server: EmulatorServer
) -> None:
    """Batches recorded as cleaned while their files stayed (what a failed delete used to leave)."""
    load(db_url, tmp_path, sessions=12, companies=2)
    kept = _kernel(make_kernel, db_url, server, openai__file_retention="keep")
    outcome = run_until_idle(Scheduler(kept), timeout=120)
    assert outcome.idle, outcome.reason
    assert all(b.files_deleted_at is not None for b in _batches(kept))
    strays = _live(server)
    assert len(strays) == 2 * len(_batches(kept))
    with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as sdk:
        foreign = sdk.files.create(file=("someone-else.jsonl", b"{}\n"), purpose="batch").id

    kernel = _kernel(make_kernel, db_url, server)
    report = Scheduler(kernel, record=False).run_task("reconcile")
    assert report.error is None and report.counts["files_swept"] == len(strays)
    assert [f["id"] for f in _live(server)] == [foreign]


def test_no_provider_file_is_left_after_a_lifecycle_run_with_failing_deletes(
    make_kernel: Any, db_url: str, tmp_path: Path
) -> None:
    load(db_url, tmp_path, sessions=40, companies=4)
    config = EmulatorConfig(seed=11, rate_500=0.5, chaos_operations=("files.delete",))
    with EmulatorServer(config) as server:
        kernel = _kernel(make_kernel, db_url, server)
        outcome = run_until_idle(Scheduler(kernel), timeout=180)
        assert outcome.idle, outcome.reason
        failed_deletes = sum(
            1 for f in server.ledger()["faults"] if f["operation"] == "files.delete"
        )
        assert failed_deletes > 0, "the run met failing deletes"
        assert _live(server) == []
        batches = _batches(kernel)
        assert batches and all(b.files_deleted_at is not None for b in batches)
