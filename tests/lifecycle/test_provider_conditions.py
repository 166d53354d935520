"""How the pipeline meets the provider's whole-batch and account conditions, through the real
SDK against the emulator, on both databases and both processors: a validation failure that
names a line, one that names none, insufficient quota, and a batch stuck in cancelling."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from sqlalchemy import select, update

from kernel.types import BatchStatus
from plugins.common.monitoring.queries import MonitorReader
from plugins.common.monitoring.snapshot import build_snapshot
from plugins.common.schema.models import AIProcessingRequest, Message
from plugins.common.schema.statuses import RequestStatus
from plugins.common.until_idle import run_until_idle
from plugins.emulator import EmulatorConfig
from plugins.serve.formats import snapshot_prometheus
from plugins.status.view import print_status

COMPLETE = RequestStatus.PROCESSING_COMPLETE.value
FAILED = RequestStatus.PROCESSING_FAILED.value
PENDING = RequestStatus.PENDING_BATCHING.value
MARKER = "POISONED-LINE-7f3a"


def _poison_one_session(pipeline: Any) -> str:
    """Put the emulator's reject marker into one session's transcript; that session's request id."""
    with pipeline.kernel.db.transaction() as session:
        request = session.scalars(
            select(AIProcessingRequest).order_by(AIProcessingRequest.id).limit(1)
        ).one()
        first = session.scalars(
            select(Message).where(Message.session_id == request.session_id).limit(1)
        ).one()
        session.execute(
            update(Message)
            .where(Message.id == first.id)
            .values(content=f"{first.content} {MARKER}")
        )
        return request.id


def test_a_validation_failure_naming_a_line_fails_only_that_request(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(
        db_url, sessions=20, companies=1, config=EmulatorConfig(reject_line_marker=MARKER)
    )
    poisoned = _poison_one_session(pipeline)
    pipeline.run()
    requests = {r.id: r for r in pipeline.requests()}
    assert requests[poisoned].status == FAILED
    assert "rejected by the provider (input line" in (requests[poisoned].error or "")
    assert "cannot be accepted" in (requests[poisoned].error or "")
    others = [r for rid, r in requests.items() if rid != poisoned]
    assert Counter(r.status for r in others) == {COMPLETE: 19}
    assert all(r.attempts == 0 for r in others)
    batches = pipeline.provider_batches()
    assert [b["status"] for b in batches] == ["failed", "completed"], "no loop"
    assert poisoned not in batches[1]["custom_ids"]


def test_validation_failing_every_batch_without_a_line_ends(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(
        db_url,
        sessions=10,
        companies=1,
        config=EmulatorConfig(rate_validation_failure=1.0),
        batch__max_attempts=3,
    )
    pipeline.run()
    requests = pipeline.requests()
    assert Counter(r.status for r in requests) == {FAILED: 10}
    assert all(r.attempts == 3 for r in requests)
    assert all("gave up after 3 attempts" in (r.error or "") for r in requests)
    assert len(pipeline.provider_batches()) == 3


def test_insufficient_quota_pauses_creation_and_until_idle_stops_with_the_reason(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(
        db_url,
        sessions=20,
        companies=1,
        config=EmulatorConfig(insufficient_quota=True),
        batch__max_requests_per_batch=5,
    )
    outcome = run_until_idle(pipeline.scheduler, timeout=120)
    assert not outcome.idle
    assert outcome.passes == 1, "creation stops within one cycle"
    assert "paused (quota)" in outcome.reason and "exceeded your current quota" in outcome.reason
    requests = pipeline.requests()
    assert Counter(r.status for r in requests) == {PENDING: 20}, "no request failed"
    assert all(r.attempts == 0 for r in requests)
    assert pipeline.provider_batches() == []
    health = pipeline.kernel.provider_health("openai")
    assert health.condition == "quota" and health.until is not None
    section = pipeline.kernel.collect_status()["provider_health"]["openai"]
    assert section["condition"] == "quota"
    assert section["streak"] == 1, "the other plans of the cycle never called the provider"

    report = pipeline.scheduler.run_task("create")
    assert report.counts.get("paused_providers") == 1 and not report.counts.get("plans")
    _assert_paused_is_visible(pipeline.kernel)


def _assert_paused_is_visible(kernel: Any) -> None:
    """``status`` (text and JSON) and ``serve``'s metrics show creation paused, from the
    instance rows the scheduler wrote (as another process would read them)."""
    reader = MonitorReader.for_database(kernel.db)
    try:
        snapshot = build_snapshot(reader, kernel)
    finally:
        reader.dispose()
    assert snapshot["provider_health"]["openai"]["condition"] == "quota"
    assert 'batchkernel_provider_creation_paused{condition="quota",provider="openai"} 1.0' in (
        snapshot_prometheus(snapshot).decode()
    )
    console = Console(record=True, width=300)
    print_status(console, snapshot)
    text = console.export_text()
    assert "provider_health openai" in text and "condition quota" in text, text


def test_rate_limit_429s_stay_transient(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(
        db_url, sessions=10, companies=1, config=EmulatorConfig(first_429={"batches.create": 2})
    )
    pipeline.run()
    assert Counter(r.status for r in pipeline.requests()) == {COMPLETE: 10}
    assert pipeline.kernel.provider_health("openai").condition == "ok"


def test_a_batch_stuck_in_cancelling_is_reconciled(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(
        db_url,
        sessions=10,
        companies=1,
        config=EmulatorConfig(in_progress_seconds=3600, cancelling_seconds=10**7),
        batch__cancelling_timeout_seconds=0,
    )
    scheduler = pipeline.scheduler
    scheduler.run_task("create")
    kernel = pipeline.kernel
    (batch,) = kernel.fetch_inflight(kernel.get_companies())
    kernel.record_batch_statuses([(batch, kernel.cancel_batch(batch))])
    (cancelling,) = kernel.fetch_inflight(kernel.get_companies())
    assert cancelling.status == BatchStatus.CANCELLING
    scheduler.run_task("poll")
    (still,) = kernel.fetch_inflight(kernel.get_companies())
    assert still.status == BatchStatus.CANCELLING, "the provider keeps it cancelling"

    report = scheduler.run_task("reconcile")
    assert report.counts["stuck_cancels"] == 1
    assert kernel.fetch_inflight(kernel.get_companies()) == []
    pipeline.server.configure(in_progress_seconds=0)
    pipeline.run()
    assert Counter(r.status for r in pipeline.requests()) == {COMPLETE: 10}
    assert all(r.attempts == 0 for r in pipeline.requests())
