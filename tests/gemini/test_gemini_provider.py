"""The gemini provider's hooks through the real google-genai SDK against the Gemini emulator:
inline and file batches, lost creates adopted, retries, expiry, errored and shuffled lines,
validation failures, quota, cancel, cleanup."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from kernel.types import BatchStatus, LocalBatch, ProviderBatch, ProviderError, SubmittedBatch

from .conftest import GeminiHarness


def _local(
    plan: Any, submitted: SubmittedBatch, current: ProviderBatch | None = None
) -> LocalBatch:
    """The LocalBatch the scheduler would hold."""
    return LocalBatch(
        batch_id=plan.batch_id,
        company_id="c1",
        status=BatchStatus.VALIDATING,
        submission_key=plan.submission_key,
        provider_batch_id=submitted.provider_batch_id,
        input_file_id=submitted.input_file_id or None,
        output_file_id=current.output_file_id if current else None,
        model=plan.model,
        provider="gemini",
    )


def _finish(gh: GeminiHarness, plan: Any, submitted: SubmittedBatch) -> ProviderBatch:
    """Poll until the batch ended (the emulator's lifecycle is instant by default)."""
    local = _local(plan, submitted)
    for _ in range(200):
        current = gh.provider.poll_batch(gh.kernel, local)
        if current.status in ("completed", "failed", "expired", "cancelled"):
            return current
    raise AssertionError("batch did not end")


def _results(gh: GeminiHarness, plan: Any, submitted: SubmittedBatch, tmp: Path) -> list[Any]:
    """Download and read the neutral results."""
    current = _finish(gh, plan, submitted)
    local = _local(plan, submitted, current)
    files = gh.provider.download_results(gh.kernel, local, tmp)
    return list(gh.provider.read_results(gh.kernel, local, files))


@pytest.mark.parametrize("inline", [True, False])
def test_submit_poll_results_cleanup(gh: GeminiHarness, tmp_path: Path, inline: bool) -> None:
    if not inline:
        gh.kernel.settings.set("gemini.inline_max_bytes", 0)
    plan = gh.plan(lines=6)
    submitted = gh.provider.submit_batch(gh.kernel, plan)
    assert submitted.provider_batch_id.startswith("batches/")
    assert bool(submitted.input_file_id) is not inline
    [entry] = gh.ledger_batches(plan.submission_key)
    assert entry["source"] == ("inline" if inline else "file")
    current = _finish(gh, plan, submitted)
    assert (current.status, current.total, current.completed, current.failed) == (
        "completed",
        6,
        6,
        0,
    )
    assert current.metadata["submission_key"] == plan.submission_key
    results = _results(gh, plan, submitted, tmp_path)
    assert sorted(r.custom_id for r in results) == [f"{plan.batch_id}-r{i}" for i in range(6)]
    for result in results:
        assert result.kind == "success" and result.finish_reason == "stop"
        answer = orjson.loads(result.text)
        assert answer["sentiment"] == "NEGATIVE" and isinstance(answer["questions"], list)
        assert set(answer) == {"sentiment", "summary", "questions", "note"}
        assert result.usage.input > 0 and result.usage.output > 0
    local = _local(plan, submitted, current)
    assert gh.provider.cleanup_batch(gh.kernel, local) is True
    ledger = gh.server.ledger()
    assert all(b["deleted"] for b in ledger["batches"])
    assert all(f["deleted"] for f in ledger["files"])


def test_thinking_tokens_are_reasoning(gh: GeminiHarness, tmp_path: Path) -> None:
    gh.server.configure(thoughts_tokens=30)
    plan = gh.plan(lines=2)
    results = _results(gh, plan, gh.provider.submit_batch(gh.kernel, plan), tmp_path)
    assert all(r.usage.reasoning == 30 and r.usage.output > 30 for r in results)


def test_lost_create_is_adopted_not_repeated(gh: GeminiHarness, tmp_path: Path) -> None:
    gh.server.configure(first_lost_create=1)
    plan = gh.plan(lines=3)
    submitted = gh.provider.submit_batch(gh.kernel, plan)
    [entry] = gh.ledger_batches(plan.submission_key)
    assert entry["create_response_lost"] and entry["name"] == submitted.provider_batch_id
    assert len(_results(gh, plan, submitted, tmp_path)) == 3
    found = gh.provider.find_batch(gh.kernel, plan)
    assert found is not None and found.provider_batch_id == submitted.provider_batch_id
    assert gh.provider.find_batch(gh.kernel, replace(plan, submission_key="bk_unknown")) is None


def test_429_and_5xx_retried(gh: GeminiHarness, tmp_path: Path) -> None:
    gh.server.configure(
        first_429={"batches.create": 1, "batches.get": 1},
        first_500={"batches.get": 1},
        retry_after_seconds=0.01,
    )
    plan = gh.plan(lines=2)
    submitted = gh.provider.submit_batch(gh.kernel, plan)
    assert len(_results(gh, plan, submitted, tmp_path)) == 2
    faults = [f["fault"] for f in gh.server.ledger()["faults"]]
    assert sorted(faults) == ["429", "429", "500"]
    assert len(gh.ledger_batches(plan.submission_key)) == 1


def test_expiry_keeps_partial_results(gh: GeminiHarness, tmp_path: Path) -> None:
    gh.server.configure(first_expire=1, expire_done_fraction=0.5)
    gh.kernel.settings.set("gemini.inline_max_bytes", 0)
    plan = gh.plan(lines=8)
    submitted = gh.provider.submit_batch(gh.kernel, plan)
    assert _finish(gh, plan, submitted).status == "expired"
    results = _results(gh, plan, submitted, tmp_path)
    assert len(results) == 4 and all(r.kind == "success" for r in results)


def test_errored_and_shuffled_lines(gh: GeminiHarness, tmp_path: Path) -> None:
    gh.server.configure(rate_line_error=0.5, shuffle_output=True, seed=3)
    gh.kernel.settings.set("gemini.inline_max_bytes", 0)
    plan = gh.plan(lines=20)
    results = _results(gh, plan, gh.provider.submit_batch(gh.kernel, plan), tmp_path)
    assert sorted(r.custom_id for r in results) == sorted(
        f"{plan.batch_id}-r{i}" for i in range(20)
    )
    kinds = {r.kind for r in results}
    assert kinds == {"success", "retry"}
    assert all(r.error for r in results if r.kind == "retry")


def test_validation_failure_reported(gh: GeminiHarness) -> None:
    gh.server.configure(first_validation_failure=1)
    plan = gh.plan(lines=2)
    current = _finish(gh, plan, gh.provider.submit_batch(gh.kernel, plan))
    assert current.status == "failed"
    assert current.errors and "validation" in current.errors[0].message


def test_quota_is_a_condition(gh: GeminiHarness) -> None:
    gh.server.configure(enqueued_token_limits={"*": 1})
    plan = gh.plan(lines=2)
    with pytest.raises(ProviderError) as info:
        gh.provider.submit_batch(gh.kernel, plan)
    assert info.value.condition == "quota" and not info.value.retryable
    health = gh.provider.provider_health(gh.kernel, "gemini")
    assert health.condition == "quota" and health.until is not None
    assert gh.provider.provider_health(gh.kernel, "openai") is None


def test_cancel(gh: GeminiHarness) -> None:
    gh.server.configure(in_progress_seconds=3600, cancelling_seconds=3600)
    plan = gh.plan(lines=2)
    submitted = gh.provider.submit_batch(gh.kernel, plan)
    local = _local(plan, submitted)
    assert gh.provider.cancel_batch(gh.kernel, local).status == "cancelling"
    gh.server.configure(cancelling_seconds=0)
    assert gh.provider.cancel_batch(gh.kernel, local).status == "cancelled"


def test_other_providers_are_not_answered(gh: GeminiHarness) -> None:
    plan = replace(gh.plan(lines=1), provider="openai")
    assert gh.provider.submit_batch(gh.kernel, plan) is None
    assert gh.provider.provider_limits(gh.kernel, "openai") is None
    assert gh.provider.request_encoder(gh.kernel, "openai", "x") is None
    limits = gh.provider.provider_limits(gh.kernel, "gemini")
    assert limits.max_requests == 50_000
