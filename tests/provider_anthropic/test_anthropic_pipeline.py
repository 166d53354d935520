"""The whole pipeline on the anthropic provider: the real SDK against the Anthropic emulator over
loopback, both processors, SQLite and PostgreSQL, with the emulator's faults."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kernel.types import BatchStatus
from plugins.anthropic_provider.customids import split
from plugins.common.lines import transcript
from plugins.common.schema.statuses import RequestStatus
from plugins.emulator.model import analyze
from plugins.emulator_anthropic import AnthropicEmulatorConfig, AnthropicEmulatorServer
from tests.support.pipelines import Pipeline, pipeline_factory, processor

__all__ = ["processor"]

COMPLETE = RequestStatus.PROCESSING_COMPLETE.value
FAILED = RequestStatus.PROCESSING_FAILED.value
TERMINAL = {COMPLETE, FAILED}


@pytest.fixture
def make_pipeline(make_kernel: Any, tmp_path: Path, processor: str) -> Iterator[Any]:
    """``make_pipeline(db_url, sessions=40, companies=2, config=..., **settings)``."""

    def launch(config: dict[str, Any] | None) -> tuple[AnthropicEmulatorServer, dict[str, Any]]:
        """The Anthropic emulator and the settings that point the kernel at it."""
        server = AnthropicEmulatorServer(
            AnthropicEmulatorConfig(
                **{
                    "seed": 1,
                    "api_key": "sk-ant-test",
                    "retry_after_seconds": 0.01,
                    **(config or {}),
                }
            )
        ).start()
        return server, {
            "plugins__provider": "anthropic",
            "plugins__processor": processor,
            "model__name": "claude-haiku-4-5",
            "anthropic__base_url": server.base_url,
            "anthropic__api_key": "sk-ant-test",
            "anthropic__max_retries": 3,
            "anthropic__timeout_seconds": 10,
            "batch__max_requests_per_batch": 25,
            "batch__min_batch_size": 1,
        }

    with pipeline_factory(
        make_kernel, tmp_path, launch, kind=Pipeline, sessions=40, companies=2
    ) as factory:
        yield factory


def assert_settled(pipeline: Pipeline) -> None:
    """Nothing in flight, every batch applied or abandoned, every request terminal."""
    requests = pipeline.requests()
    assert all(r.status in TERMINAL for r in requests), Counter(r.status for r in requests)
    assert {b.status for b in pipeline.batches()} <= {
        BatchStatus.APPLIED.value,
        BatchStatus.ABANDONED.value,
    }


def assert_exactly_once(pipeline: Pipeline) -> None:
    """Every provider batch is a local batch, and no request was sent twice at the same time
    (each provider batch holds distinct requests)."""
    ledger = pipeline.provider_batches()
    local = {b.provider_batch_id for b in pipeline.batches() if b.provider_batch_id}
    assert {entry["id"] for entry in ledger} == local
    for entry in ledger:
        ids = [split(cid) for cid in entry["custom_ids"]]
        assert all(part is not None for part in ids)
        assert len({part[1] for part in ids if part}) == len(ids)


def test_lifecycle_lands_every_result(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(db_url, sessions=60, companies=3)
    pipeline.run()
    assert_settled(pipeline)
    requests = pipeline.requests()
    assert Counter(r.status for r in requests) == {COMPLETE: 60}
    sessions = pipeline.sessions()
    transcripts = pipeline.transcripts()
    for request in requests:
        expected = analyze(transcript(transcripts[request.session_id]))
        analysed = sessions[request.session_id]
        assert (analysed.sentiment, analysed.category) == (
            expected["sentiment"],
            expected["category"],
        )
        assert request.prompt_tokens > 0 and request.completion_tokens > 0
        assert request.model == "claude-haiku-4-5"
        uncached = request.prompt_tokens - request.cached_tokens
        expected = (
            (uncached * 1.0 + request.cached_tokens * 0.10 + request.completion_tokens * 5.0)
            / 1e6
            * 0.5
        )
        assert request.total_cost_usd == pytest.approx(expected)
    assert sum(r.cached_tokens for r in requests) > 0, "the cached system prompt is read"
    assert_exactly_once(pipeline)
    ledger = pipeline.provider_batches()
    assert len(ledger) == 3 and all(entry["deleted"] for entry in ledger), "ended batches deleted"


@pytest.mark.parametrize(
    "fault",
    [
        {"first_429": {"batches.create": 2}, "retry_after_seconds": 0.01},
        {"first_529": {"batches.create": 1}},
        {"first_529": {"batches.retrieve": 2, "batches.results": 1}},
        {"first_500": {"batches.list": 1, "batches.retrieve": 1}},
        {"first_drop": {"batches.retrieve": 1}},
        {"first_lost_create": 2},
        {"first_lost_create": 1, "in_progress_seconds": 1.0},
        {"rate_duplicate_lines": 0.2, "rate_unknown_id_lines": 0.1, "rate_garbage_lines": 0.1},
        {"rate_missing_lines": 0.2},
        {"shuffle_output": False},
        {"first_validation_failure": 1},
    ],
    ids=[
        "429-create",
        "529-create",
        "529",
        "500",
        "dropped",
        "lost-create-ended",
        "lost-create-running",
        "duplicate-unknown-garbled",
        "missing",
        "unshuffled",
        "rejected-create",
    ],
)
def test_faults_lose_and_duplicate_nothing(
    make_pipeline: Any, db_url: str, fault: dict[str, Any]
) -> None:
    pipeline = make_pipeline(db_url, config=fault, batch__max_attempts=10)
    pipeline.run()
    assert_settled(pipeline)
    assert Counter(r.status for r in pipeline.requests()) == {COMPLETE: 40}
    assert_exactly_once(pipeline)


def test_expiry_keeps_partial_results_and_requeues_the_rest(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(db_url, config={"first_expire": 1, "expire_done_fraction": 0.4})
    pipeline.run()
    assert_settled(pipeline)
    requests = pipeline.requests()
    assert Counter(r.status for r in requests) == {COMPLETE: 40}
    expired = [e for e in pipeline.provider_batches() if e["faults"]["expire"]]
    assert len(expired) == 1 and expired[0]["request_counts"]["expired"] > 0
    assert all(r.attempts <= 1 for r in requests), "an expired request spends no attempt"
    assert_exactly_once(pipeline)


def test_retryable_errored_results_are_retried(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(
        db_url,
        config={
            "rate_line_error": 0.3,
            "line_error_type": "overloaded_error",
            "line_faults_by_request": True,
        },
        batch__max_attempts=20,
    )
    pipeline.run()
    assert_settled(pipeline)
    requests = pipeline.requests()
    assert Counter(r.status for r in requests) == {COMPLETE: 40}
    # ``attempts`` counts the tries that failed: a request retried once and then answered has 1.
    # Some request fails at 0.3 each (no fault in 40 has odds of 6e-7); that two tries of one
    # request fail was the old check, missed in about 2 % of runs.
    assert any(r.attempts >= 1 for r in requests)


def test_invalid_request_errors_fail_for_good(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(
        db_url, config={"rate_line_error": 1.0, "line_error_type": "invalid_request_error"}
    )
    pipeline.run()
    requests = pipeline.requests()
    assert Counter(r.status for r in requests) == {FAILED: 40}
    assert all(r.attempts == 1 for r in requests)
    assert all("invalid_request_error" in (r.error or "") for r in requests)
