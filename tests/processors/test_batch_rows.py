"""The batch-row writes both processors share, and the reconcile step's: one statement whatever the
number of batches, and every row changed only from the state the step read (a late or repeated
step changes nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from kernel.api import KernelAPI
from kernel.scheduler import Scheduler
from kernel.types import BatchError, BatchStatus, ProviderBatch, SubmittedBatch
from plugins.common.schema.models import AIBatchRequest
from plugins.common.schema.rows import to_local_batch
from plugins.common.timeutil import utcnow
from plugins.emulator import EmulatorConfig, EmulatorServer
from tests.processors.support import loaded_kernel, other_database

COMPANIES = 4


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    """A zero-latency emulator (only its address is used: the provider is answered by hand)."""
    with EmulatorServer(EmulatorConfig()).start() as emulator:
        yield emulator


def rows(kernel: KernelAPI) -> dict[str, AIBatchRequest]:
    """Every batch row by id."""
    with kernel.db.transaction() as session:
        return {row.id: row for row in session.scalars(select(AIBatchRequest))}


def statements(kernel: KernelAPI, write: Any) -> tuple[Any, int]:
    """What ``write()`` returned and how many statements the database ran for it."""
    with kernel.db.queries.measure() as measured:
        result = write()
    return result, measured["statements"]


@pytest.mark.parametrize("processor", ["optimized", "original"])
def test_submissions_and_polls_are_one_statement_and_only_move_rows_as_read(
    make_kernel: Any, db_url: str, tmp_path: Path, server: Any, processor: str
) -> None:
    kernel = loaded_kernel(
        make_kernel,
        db_url,
        tmp_path,
        server,
        processor=processor,
        companies=COMPANIES,
        sessions=2 * COMPANIES,
    )
    plans = kernel.fetch_pending(kernel.get_companies(), flush=True)
    assert len(plans) == COMPANIES
    settled, *live = plans
    assert kernel.abandon_plan(settled, "settled before its submission was recorded")

    def submitted(tag: str, status: str) -> list[tuple[Any, SubmittedBatch]]:
        return [(p, SubmittedBatch(f"{tag}-{p.batch_id}", f"file-{tag}", status)) for p in plans]

    moved, count = statements(kernel, lambda: kernel.record_submitted(submitted("a", "validating")))
    assert sorted(moved) == sorted(p.batch_id for p in live) and count == 1
    again, count = statements(kernel, lambda: kernel.record_submitted(submitted("b", "completed")))
    assert again == [] and count == 1
    after = rows(kernel)
    assert after[settled.batch_id].status == BatchStatus.ABANDONED.value
    assert after[settled.batch_id].provider_batch_id is None
    for plan in live:
        row = after[plan.batch_id]
        assert (row.status, row.provider_batch_id, row.input_file_id) == (
            BatchStatus.VALIDATING.value,
            f"a-{plan.batch_id}",
            "file-a",
        )
        assert row.submitted_at is not None

    polled = {b.batch_id: b for b in kernel.fetch_inflight(kernel.get_companies())}
    done, running, backwards = (polled[p.batch_id] for p in live)
    first = [
        (done, ProviderBatch(done.provider_batch_id, "completed", output_file_id="out", total=2)),
        (running, ProviderBatch(running.provider_batch_id, "in_progress", total=2, completed=1)),
        (backwards, ProviderBatch(backwards.provider_batch_id, "validating", total=2)),
    ]
    changed, count = statements(kernel, lambda: kernel.record_batch_statuses(first))
    assert changed == 2 and count == 1
    late = [
        (done, ProviderBatch(done.provider_batch_id, "failed", errors=(BatchError("x", "y"),))),
        (running, ProviderBatch(running.provider_batch_id, "cancelled")),
    ]
    changed, count = statements(kernel, lambda: kernel.record_batch_statuses(late))
    assert changed == 0 and count == 1
    after = rows(kernel)
    assert after[done.batch_id].status == BatchStatus.COMPLETED.value
    assert after[done.batch_id].output_file_id == "out"
    assert after[done.batch_id].ended_at is not None
    assert not to_local_batch(after[done.batch_id]).errors
    assert after[running.batch_id].status == BatchStatus.IN_PROGRESS.value
    assert (after[running.batch_id].counts_total, after[running.batch_id].counts_completed) == (
        2,
        1,
    )
    assert after[running.batch_id].ended_at is None
    assert after[backwards.batch_id].status == BatchStatus.VALIDATING.value
    assert after[backwards.batch_id].last_polled_at is not None

    fresh = {b.batch_id: b for b in kernel.fetch_inflight(kernel.get_companies())}
    error = BatchError("token_limit_exceeded", "Enqueued token limit reached", None)
    failed = [
        (
            fresh[running.batch_id],
            ProviderBatch(running.provider_batch_id, "in_progress", total=2, completed=2),
        ),
        (
            fresh[backwards.batch_id],
            ProviderBatch(backwards.provider_batch_id, "failed", errors=(error,)),
        ),
    ]
    changed, count = statements(kernel, lambda: kernel.record_batch_statuses(failed))
    assert changed == 1 and count == 1
    after = rows(kernel)
    assert after[running.batch_id].counts_completed == 2
    assert after[backwards.batch_id].status == BatchStatus.FAILED.value
    assert to_local_batch(after[backwards.batch_id]).errors == (error,)


def cancel_statements(make_kernel: Any, url: str, tmp_path: Path, companies: int) -> int:
    """Statements of the reconcile step that cancels one overdue batch per company."""
    with EmulatorServer(EmulatorConfig(in_progress_seconds=3600)).start() as server:
        kernel = loaded_kernel(
            make_kernel,
            url,
            tmp_path,
            server,
            processor="optimized",
            companies=companies,
            sessions=companies,
        )
        scheduler = Scheduler(kernel, record=False, flush=True)
        assert scheduler.create_step()["submitted"] == companies
        with kernel.db.transaction() as session:
            session.execute(
                update(AIBatchRequest).values(submitted_at=utcnow() - timedelta(hours=27))
            )
        counts, count = statements(kernel, scheduler.reconcile_step)
        assert counts["cancelled"] == companies
        statuses = {row.status for row in rows(kernel).values()}
        assert statuses <= {BatchStatus.CANCELLING.value, BatchStatus.CANCELLED.value}
    return count


def test_reconcile_records_every_cancelled_overdue_batch_in_one_statement(
    make_kernel: Any, db_url: str, tmp_path: Path, request: Any
) -> None:
    few = cancel_statements(make_kernel, db_url, tmp_path / "few", 2)
    other = other_database(db_url, tmp_path, request)
    many = cancel_statements(make_kernel, other, tmp_path / "many", 12)
    assert few == many
