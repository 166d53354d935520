"""Reconciliation: crashes between plan and provider, orphans, breakers, overdue batches."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from kernel.db.models import SchedulerInstance
from kernel.scheduler import Scheduler
from kernel.types import BatchStatus
from plugins.common.schema.models import AIBatchRequest
from plugins.common.schema.statuses import RequestStatus
from plugins.emulator import EmulatorConfig

COMPLETE = RequestStatus.PROCESSING_COMPLETE.value


def test_crash_after_provider_create_is_adopted_not_resubmitted(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(db_url, sessions=20, companies=1)
    kernel = pipeline.kernel
    (plan,) = kernel.fetch_pending(kernel.get_companies())
    kernel.submit_batch(plan)
    assert [b.status for b in pipeline.batches()] == [BatchStatus.PLANNED.value]
    counts = pipeline.scheduler.reconcile_step()
    assert counts["adopted"] == 1
    pipeline.run()
    assert Counter(r.status for r in pipeline.requests()) == {COMPLETE: 20}
    assert len(pipeline.provider_batches()) == 1


def test_plan_that_never_reached_the_provider_is_abandoned_and_requeued(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(db_url, sessions=20, companies=1)
    kernel = pipeline.kernel
    (plan,) = kernel.fetch_pending(kernel.get_companies())
    assert {r.status for r in pipeline.requests()} == {RequestStatus.BATCHING_IN_PROGRESS.value}
    counts = pipeline.scheduler.reconcile_step()
    assert counts["abandoned"] == 1 and not plan.input_path.exists()
    assert {r.status for r in pipeline.requests()} == {RequestStatus.PENDING_BATCHING.value}
    assert all(r.attempts == 0 for r in pipeline.requests())
    pipeline.run()
    assert Counter(r.status for r in pipeline.requests()) == {COMPLETE: 20}
    assert len(pipeline.provider_batches()) == 1


def test_a_batch_accepted_after_its_plan_was_settled_is_cancelled(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(
        db_url, sessions=10, companies=1, config=EmulatorConfig(in_progress_seconds=60)
    )
    kernel = pipeline.kernel
    (plan,) = kernel.fetch_pending(kernel.get_companies())
    assert kernel.abandon_plan(plan, "taken over by another instance")
    plan.input_path.parent.mkdir(parents=True, exist_ok=True)
    plan.input_path.write_bytes(
        b'{"custom_id":"x","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[]}}\n'
    )
    submitted = pipeline.scheduler._submit(plan)
    assert kernel.record_submitted([(plan, submitted)]) == []
    pipeline.scheduler._cancel_orphan(plan, submitted)
    (entry,) = pipeline.provider_batches()
    assert entry["status"] in ("cancelling", "cancelled")


def test_open_breaker_never_fails_a_running_batch(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(
        db_url,
        sessions=10,
        companies=1,
        config=EmulatorConfig(first_500={"batches.retrieve": 50}),
        openai__max_retries=0,
        openai__circuit_failure_threshold=2,
        openai__circuit_reset_seconds=0.2,
    )
    scheduler = pipeline.scheduler
    scheduler.run_task("create")
    for _ in range(4):
        report = scheduler.run_task("poll")
        assert report.counts["poll_failures"] == 1
    assert {b.status for b in pipeline.batches()} == {BatchStatus.VALIDATING.value}
    assert {r.status for r in pipeline.requests()} == {RequestStatus.BATCHING_IN_PROGRESS.value}
    pipeline.server.configure(first_500={})
    pipeline.run()
    assert Counter(r.status for r in pipeline.requests()) == {COMPLETE: 10}


def test_overdue_batch_is_cancelled_and_its_requests_go_again(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(
        db_url, sessions=10, companies=1, config=EmulatorConfig(in_progress_seconds=3600)
    )
    scheduler = pipeline.scheduler
    scheduler.run_task("create")
    scheduler.run_task("poll")
    with pipeline.kernel.db.transaction() as session:
        session.execute(
            update(AIBatchRequest).values(submitted_at=datetime.now(UTC) - timedelta(hours=27))
        )
    counts = scheduler.reconcile_step()
    assert counts["cancelled"] == 1
    pipeline.server.configure(in_progress_seconds=0)
    pipeline.run()
    requests = pipeline.requests()
    assert Counter(r.status for r in requests) == {COMPLETE: 10}
    assert all(r.attempts == 0 for r in requests)
    statuses = sorted(b["status"] for b in pipeline.provider_batches())
    assert statuses == ["cancelled", "completed"]


def test_upload_of_a_never_created_batch_is_deleted_when_the_plan_is_abandoned(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(db_url, sessions=10, companies=1)
    kernel = pipeline.kernel
    (plan,) = kernel.fetch_pending(kernel.get_companies())
    provider = kernel.pm.get_plugin("openai")
    config, client = provider._setup(kernel)
    provider._upload(kernel, config, client, plan)
    assert [f for f in pipeline.server.ledger()["files"] if not f["deleted"]]
    counts = pipeline.scheduler.reconcile_step()
    assert counts["abandoned"] == 1
    assert all(f["deleted"] for f in pipeline.server.ledger()["files"])
    pipeline.run()
    assert Counter(r.status for r in pipeline.requests()) == {COMPLETE: 10}


def test_plans_of_a_dead_instance_are_taken_over_after_the_lease(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(
        db_url, sessions=10, companies=1, batch__stale_plan_seconds=3600, scheduler__lease_seconds=1
    )
    kernel = pipeline.kernel
    dead = Scheduler(kernel)
    dead.start_instance()
    assert dead.heartbeat is not None and dead.instance is not None
    (_plan,) = kernel.fetch_pending(kernel.get_companies())
    dead.heartbeat.stop()
    kernel.instance_id = None
    with kernel.db.transaction() as session:
        session.execute(
            update(SchedulerInstance)
            .where(SchedulerInstance.id == dead.instance.id)
            .values(heartbeat_at=datetime.now(UTC) - timedelta(seconds=30))
        )
    survivor = Scheduler(kernel)
    counts = survivor.reconcile_step()
    assert counts["abandoned"] == 1
    survivor.stop_instance()
    pipeline.run()
    assert Counter(r.status for r in pipeline.requests()) == {COMPLETE: 10}
