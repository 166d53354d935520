"""The whole lifecycle through the real SDK against the emulator, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from kernel.types import BatchStatus
from plugins.common.lines import transcript
from plugins.common.pricing import PriceBook
from plugins.common.schema.statuses import RequestStatus
from plugins.emulator import EmulatorConfig
from plugins.emulator.model import analyze

COMPLETE = RequestStatus.PROCESSING_COMPLETE.value
FAILED = RequestStatus.PROCESSING_FAILED.value
TERMINAL = {COMPLETE, FAILED}


def assert_settled(pipeline: Any) -> None:
    """Nothing in flight, every batch applied or abandoned, every request terminal."""
    requests = pipeline.requests()
    assert all(r.status in TERMINAL for r in requests), Counter(r.status for r in requests)
    assert all(r.batch_id is None or r.status in TERMINAL for r in requests)
    batches = pipeline.batches()
    assert {b.status for b in batches} <= {BatchStatus.APPLIED.value, BatchStatus.ABANDONED.value}


def test_full_lifecycle_lands_every_result_on_its_session(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(db_url, sessions=80, companies=4)
    pipeline.run()
    assert_settled(pipeline)
    requests = pipeline.requests()
    assert Counter(r.status for r in requests) == {COMPLETE: 80}
    sessions = pipeline.sessions()
    transcripts = pipeline.transcripts()
    for request in requests:
        expected = analyze(transcript(transcripts[request.session_id]))
        session = sessions[request.session_id]
        assert session.summary == expected["summary"]
        assert (session.sentiment, session.category, session.language) == (
            expected["sentiment"],
            expected["category"],
            expected["language"],
        )
        assert session.escalated == expected["escalated"]
        assert session.forwarded_hr == expected["forwarded_hr"]
        assert session.questions == expected["questions"]
        assert session.analyzed_at is not None
    batches = pipeline.batches()
    assert len(batches) == 4
    assert all(b.request_count <= 25 and b.provider_batch_id for b in batches)
    ledger = pipeline.provider_batches()
    assert len(ledger) == 4
    assert all(entry["metadata"]["batchkernel_submission_key"] for entry in ledger)
    files = pipeline.server.ledger()["files"]
    assert files and all(f["deleted"] for f in files)


def test_costs_are_price_times_tokens_times_discount(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(db_url, sessions=30)
    pipeline.run()
    price = PriceBook.from_settings(pipeline.kernel.settings).for_model("gpt-4o-mini")
    assert price is not None and price.batch_discount == 0.5
    for r in pipeline.requests():
        assert r.prompt_tokens > 0 and r.completion_tokens > 0
        assert r.total_tokens == r.prompt_tokens + r.completion_tokens
        expected_prompt = r.prompt_tokens * 0.15 / 1e6 * 0.5
        expected_completion = r.completion_tokens * 0.60 / 1e6 * 0.5
        assert r.prompt_cost_usd == pytest.approx(expected_prompt)
        assert r.completion_cost_usd == pytest.approx(expected_completion)
        assert r.total_cost_usd == pytest.approx(expected_prompt + expected_completion)


def test_big_backlog_becomes_several_batches(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(db_url, sessions=130, companies=1, batch__max_requests_per_batch=40)
    pipeline.run()
    sizes = sorted(b.request_count for b in pipeline.batches())
    assert sizes == [10, 40, 40, 40]
    assert_settled(pipeline)


def test_token_budget_splits_batches(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(
        db_url, sessions=40, companies=1, batch__max_input_tokens_per_batch=4000
    )
    pipeline.run()
    batches = pipeline.batches()
    assert len(batches) > 1
    assert all(b.estimated_input_tokens <= 4000 for b in batches)
    assert Counter(r.status for r in pipeline.requests()) == {COMPLETE: 40}


@pytest.mark.parametrize(
    "fault",
    [
        {"first_429": {"batches.create": 2}, "retry_after_seconds": 0},
        {"first_500": {"files.create": 1, "batches.retrieve": 2}},
        {"first_drop": {"batches.retrieve": 1, "files.content": 1}},
        {"first_lost_create": 2},
    ],
    ids=["429", "500", "dropped-connection", "lost-create-response"],
)
def test_transport_faults_do_not_lose_or_duplicate(
    make_pipeline: Any, db_url: str, fault: dict[str, Any]
) -> None:
    pipeline = make_pipeline(db_url, sessions=50, config=EmulatorConfig(seed=2, **fault))
    pipeline.run()
    assert_settled(pipeline)
    assert Counter(r.status for r in pipeline.requests()) == {COMPLETE: 50}
    ledger = pipeline.provider_batches()
    local = {b.provider_batch_id for b in pipeline.batches() if b.provider_batch_id}
    assert {entry["id"] for entry in ledger} == local
    seen = Counter(cid for entry in ledger for cid in entry["custom_ids"])
    assert set(seen.values()) == {1}


def test_validation_failure_without_a_line_spends_one_attempt_and_goes_again(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(
        db_url, sessions=20, companies=1, config=EmulatorConfig(first_validation_failure=1)
    )
    pipeline.run()
    requests = pipeline.requests()
    assert Counter(r.status for r in requests) == {COMPLETE: 20}
    assert all(r.attempts == 1 for r in requests)
    assert len(pipeline.provider_batches()) == 2


def test_token_limit_exceeded_requeues_and_finishes(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(
        db_url,
        sessions=60,
        companies=3,
        config=EmulatorConfig(
            enqueued_token_limits={"gpt-4o-mini": 12_000}, in_progress_seconds=0.3
        ),
    )
    pipeline.run()
    assert Counter(r.status for r in pipeline.requests()) == {COMPLETE: 60}
    failed = [b for b in pipeline.provider_batches() if b["status"] == "failed"]
    assert all(r.attempts == 0 for r in pipeline.requests())
    assert failed, "the low enqueued-token limit should have failed some batches"


def test_error_file_lines_fail_their_request_with_the_provider_message(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(
        db_url,
        sessions=40,
        config=EmulatorConfig(seed=5, rate_line_error=0.25, line_error_status=400),
    )
    pipeline.run()
    assert_settled(pipeline)
    requests = pipeline.requests()
    failed = [r for r in requests if r.status == FAILED]
    assert 0 < len(failed) < 40
    assert all(r.error and r.error.startswith("provider 400") for r in failed)
    assert all(r.attempts == 1 for r in failed)


def test_server_errors_in_lines_are_retried(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(
        db_url,
        sessions=40,
        config=EmulatorConfig(seed=6, rate_line_error=0.3),
        batch__max_attempts=20,
    )
    pipeline.run()
    requests = pipeline.requests()
    assert Counter(r.status for r in requests) == {COMPLETE: 40}
    assert any(r.attempts > 0 for r in requests)


def test_expiry_applies_partial_output_and_requeues_the_rest(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(
        db_url,
        sessions=20,
        companies=1,
        config=EmulatorConfig(first_expire=1, expire_done_fraction=0.5),
    )
    pipeline.run()
    requests = pipeline.requests()
    assert Counter(r.status for r in requests) == {COMPLETE: 20}
    assert all(r.attempts == 0 for r in requests)
    expired = [b for b in pipeline.provider_batches() if b["status"] == "expired"]
    assert len(expired) == 1 and expired[0]["request_counts"]["completed"] == 10


def test_stuck_finalizing_waits_then_completes(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(
        db_url, sessions=10, companies=1, config=EmulatorConfig(stuck_finalizing=True)
    )
    for _ in range(3):
        pipeline.scheduler.run_once()
    assert {b.status for b in pipeline.batches()} == {BatchStatus.FINALIZING.value}
    assert {r.status for r in pipeline.requests()} == {RequestStatus.BATCHING_IN_PROGRESS.value}
    pipeline.server.configure(stuck_finalizing=False)
    pipeline.run()
    assert Counter(r.status for r in pipeline.requests()) == {COMPLETE: 10}


def test_missing_lines_go_back_to_the_queue(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(
        db_url,
        sessions=30,
        config=EmulatorConfig(seed=9, rate_missing_lines=0.3),
        batch__max_attempts=10,
    )
    pipeline.run()
    requests = pipeline.requests()
    assert Counter(r.status for r in requests) == {COMPLETE: 30}
    assert any(r.attempts > 0 for r in requests)
