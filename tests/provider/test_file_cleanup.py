"""Provider files really go: cleanup says whether they are gone, the sweep removes what is left,
every upload and result file carries an expiry. The real SDK against the emulator throughout."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import openai
import pytest

from kernel.types import BatchPlan, BatchStatus, LocalBatch
from tests.provider.conftest import Harness

DELETE_FAILS = {"first_500": {"files.delete": 1_000}}


def _run(h: Harness, plan: BatchPlan) -> LocalBatch:
    """Submit ``plan`` and follow it to completion; the batch as the apply task would hold it."""
    submitted = h.provider.submit_batch(h.kernel, plan)
    local = LocalBatch(
        plan.batch_id,
        plan.company_id,
        BatchStatus.VALIDATING,
        plan.submission_key,
        submitted.provider_batch_id,
        input_file_id=submitted.input_file_id,
    )
    status = h.provider.poll_batch(h.kernel, local)
    for _ in range(100):
        if status.status == "completed":
            break
        status = h.provider.poll_batch(h.kernel, local)
    assert status.status == "completed"
    return LocalBatch(
        plan.batch_id,
        plan.company_id,
        BatchStatus.APPLIED,
        plan.submission_key,
        submitted.provider_batch_id,
        input_file_id=submitted.input_file_id,
        output_file_id=status.output_file_id,
        error_file_id=status.error_file_id,
    )


def _live(h: Harness) -> dict[str, str]:
    """Files still at the emulator: id -> filename."""
    return {f["id"]: f["filename"] for f in h.ledger_files() if not f["deleted"]}


def _sdk(h: Harness) -> openai.OpenAI:
    """A plain SDK client on the emulator."""
    return openai.OpenAI(base_url=h.server.base_url, api_key="test-key", max_retries=0)


def test_cleanup_says_false_while_a_file_is_left_and_true_once_all_are_gone(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    batch = _run(h, h.plan())
    assert batch.input_file_id and batch.output_file_id
    h.server.configure(**DELETE_FAILS)
    with caplog.at_level(logging.INFO, logger="batchkernel"):
        assert h.provider.cleanup_batch(h.kernel, batch) is False
    assert {batch.input_file_id, batch.output_file_id} <= set(_live(h))
    failures = [r for r in caplog.records if "could not delete provider file" in r.getMessage()]
    assert failures and all(r.levelno == logging.WARNING for r in failures)

    h.server.configure(first_500={})
    assert h.provider.cleanup_batch(h.kernel, batch) is True
    assert not _live(h)


def test_a_file_already_gone_counts_as_deleted(harness: Harness) -> None:
    h = harness
    batch = _run(h, h.plan())
    with _sdk(h) as sdk:
        sdk.files.delete(batch.input_file_id or "")
    assert h.provider.cleanup_batch(h.kernel, batch) is True
    assert not _live(h)


def test_retention_keep_is_clean_without_deleting(harness: Harness) -> None:
    h = harness
    h.kernel.settings.set("openai.file_retention", "keep")
    batch = _run(h, h.plan())
    assert h.provider.cleanup_batch(h.kernel, batch) is True
    assert len(_live(h)) == 2
    assert h.provider.sweep_provider_files(h.kernel, lambda keys: set(keys)) == 0
    assert len(_live(h)) == 2


def test_uploads_and_result_files_carry_the_configured_expiry(harness: Harness) -> None:
    h = harness
    h.kernel.settings.set("openai.input_expires_after_seconds", 7_200)
    h.kernel.settings.set("openai.output_expires_after_seconds", 10_800)
    batch = _run(h, h.plan())
    with _sdk(h) as sdk:
        uploaded = sdk.files.retrieve(batch.input_file_id or "")
        output = sdk.files.retrieve(batch.output_file_id or "")
    assert uploaded.expires_at == uploaded.created_at + 7_200
    assert output.expires_at == output.created_at + 10_800


def test_expiry_zero_leaves_the_provider_default(harness: Harness) -> None:
    h = harness
    h.kernel.settings.set("openai.input_expires_after_seconds", 0)
    h.kernel.settings.set("openai.output_expires_after_seconds", 0)
    batch = _run(h, h.plan())
    with _sdk(h) as sdk:
        uploaded = sdk.files.retrieve(batch.input_file_id or "")
        output = sdk.files.retrieve(batch.output_file_id or "")
    assert uploaded.expires_at == uploaded.created_at + 30 * 86_400
    assert output.expires_at is None


def test_the_default_expiry_is_seven_days(harness: Harness) -> None:
    h = harness
    batch = _run(h, h.plan())
    with _sdk(h) as sdk:
        for file_id in (batch.input_file_id, batch.output_file_id):
            item = sdk.files.retrieve(file_id or "")
            assert item.expires_at == item.created_at + 7 * 86_400


def test_sweep_pages_through_every_file_and_deletes_only_those_of_finished_batches(
    harness: Harness,
) -> None:
    h = harness
    h.provider.file_page_size = 2
    finished = [_run(h, h.plan()) for _ in range(3)]
    running = h.plan()
    h.provider.submit_batch(h.kernel, running)
    unknown = h.plan(key="key-of-another-deployment-0001")
    with _sdk(h) as sdk, unknown.input_path.open("rb") as handle:
        foreign = sdk.files.create(file=("report.jsonl", handle), purpose="batch").id
        stranger = sdk.files.create(
            file=(f"bk-{unknown.submission_key}.jsonl", unknown.input_path.read_bytes()),
            purpose="batch",
        ).id
    over = {b.submission_key for b in finished}
    asked: list[str] = []

    def settled(keys: Sequence[str]) -> set[str]:
        asked.extend(keys)
        return over & set(keys)

    deleted = h.provider.sweep_provider_files(h.kernel, settled)

    assert deleted == 6, "three inputs and three outputs"
    left = _live(h)
    assert foreign in left and stranger in left
    assert f"bk-{running.submission_key}.jsonl" in left.values()
    assert not any(b.input_file_id in left or b.output_file_id in left for b in finished)
    assert set(asked) == over | {running.submission_key, unknown.submission_key}
    lists = h.values("batchkernel.provider.calls", operation="list", outcome="ok")
    assert len(lists) >= 5, "more than one page per purpose"
    assert h.values("batchkernel.provider.files.swept") == [6]


def test_sweep_runs_at_most_once_per_interval(harness: Harness) -> None:
    h = harness
    h.kernel.settings.set("openai.sweep_interval_seconds", 600)
    first = _run(h, h.plan())
    assert h.provider.sweep_provider_files(h.kernel, lambda keys: set(keys)) == 2
    second = _run(h, h.plan())
    assert h.provider.sweep_provider_files(h.kernel, lambda keys: set(keys)) == 0
    h.clock.advance(601)
    assert h.provider.sweep_provider_files(h.kernel, lambda keys: set(keys)) == 2
    assert not _live(h) and first.batch_id != second.batch_id


def test_sweep_never_raises_and_tries_again_next_time(harness: Harness) -> None:
    h = harness
    _run(h, h.plan())
    h.server.configure(first_500={"files.list": 1_000})
    assert h.provider.sweep_provider_files(h.kernel, lambda keys: set(keys)) == 0
    h.server.configure(first_500={})
    assert h.provider.sweep_provider_files(h.kernel, lambda keys: set(keys)) == 2


def test_a_batch_lookup_that_fails_skips_only_its_result_files(harness: Harness) -> None:
    h = harness
    batch = _run(h, h.plan())
    h.server.configure(first_500={"batches.retrieve": 1_000})
    assert h.provider.sweep_provider_files(h.kernel, lambda keys: set(keys)) == 1
    assert list(_live(h)) == [batch.output_file_id]
    h.server.configure(first_500={})
    h.clock.advance(3_601)
    assert h.provider.sweep_provider_files(h.kernel, lambda keys: set(keys)) == 1
    assert not _live(h)


def test_orphan_uploads_are_found_on_any_page(harness: Harness) -> None:
    """Discarding a plan's uploads pages through every file (the SDK's pagination), so an
    orphan beyond the first page is deleted too, and nothing else is."""
    h = harness
    h.provider.file_page_size = 2
    plan = h.plan()
    name = f"bk-{plan.submission_key}.jsonl"
    with _sdk(h) as sdk:
        others = [
            sdk.files.create(file=(f"other-{i}.jsonl", b"{}\n"), purpose="batch").id
            for i in range(5)
        ]
        orphans = [sdk.files.create(file=(name, b"{}\n"), purpose="batch").id for _ in range(2)]
    h.provider.discard_submission(h.kernel, plan)
    left = _live(h)
    assert set(others) <= set(left)
    assert not set(orphans) & set(left)
    assert len(h.values("batchkernel.provider.calls", operation="list", outcome="ok")) == 4
