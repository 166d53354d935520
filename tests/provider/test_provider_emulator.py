"""The provider against the real SDK and the OpenAI-compatible emulator, faults included."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import openai
import pytest

import plugins.openai_provider.files as provider_files
import plugins.openai_provider.provider as provider_module
from kernel.types import BatchStatus, LocalBatch, ProviderError, SubmittedBatch
from plugins.openai_provider.breaker import CircuitOpenError
from plugins.openai_provider.calls import OutcomeUnknownError
from tests.provider.conftest import Harness


def _local(
    batch_id: str,
    submitted: SubmittedBatch,
    output_file_id: str | None = None,
    error_file_id: str | None = None,
) -> LocalBatch:
    """The LocalBatch the scheduler would hold for a submitted batch."""
    return LocalBatch(
        batch_id=batch_id,
        company_id="c1",
        status=BatchStatus.VALIDATING,
        submission_key=f"key-{batch_id}",
        provider_batch_id=submitted.provider_batch_id,
        input_file_id=submitted.input_file_id,
        output_file_id=output_file_id,
        error_file_id=error_file_id,
    )


def _sdk(h: Harness) -> openai.OpenAI:
    """A plain SDK client on the emulator, for checking what the provider wrote."""
    return openai.OpenAI(base_url=h.server.base_url, api_key="test-key", max_retries=0)


def test_submit_poll_download_cleanup(harness: Harness, tmp_path: Path) -> None:
    """The happy path end to end, with the submission metadata and file name on the server."""
    h = harness
    plan = h.plan(lines=5)
    submitted = h.provider.submit_batch(h.kernel, plan)
    assert submitted.status == "validating"

    [created] = h.ledger_batches(plan.submission_key)
    assert created["id"] == submitted.provider_batch_id
    assert created["metadata"] == {
        "batchkernel_submission_key": plan.submission_key,
        "batchkernel_batch_id": plan.batch_id,
        "batchkernel_company_id": "c1",
        "batchkernel_model": "gpt-4o-mini",
    }
    assert created["endpoint"] == "/v1/chat/completions"
    [uploaded] = h.ledger_files(f"bk-{plan.submission_key}.jsonl")
    assert uploaded["id"] == submitted.input_file_id

    local = _local(plan.batch_id, submitted)
    status = h.provider.poll_batch(h.kernel, local)
    for _ in range(50):
        if status.status == "completed":
            break
        status = h.provider.poll_batch(h.kernel, local)
    assert status.status == "completed"
    assert (status.total, status.completed, status.failed) == (5, 5, 0)
    assert status.metadata["batchkernel_submission_key"] == plan.submission_key

    ended = _local(
        plan.batch_id,
        submitted,
        output_file_id=status.output_file_id,
        error_file_id=status.error_file_id,
    )
    result = h.provider.download_results(h.kernel, ended, tmp_path / "results")
    assert result.output_path == tmp_path / "results" / f"{plan.batch_id}.output.jsonl"
    assert result.error_path is None and result.missing == ()
    assert status.output_file_id is not None
    expected = _sdk(h).files.content(status.output_file_id).content
    assert result.output_path.read_bytes() == expected
    ids = {json.loads(line)["custom_id"] for line in expected.decode().splitlines()}
    assert ids == {f"{plan.batch_id}-r{i}" for i in range(5)}
    assert not list((tmp_path / "results").glob("*.part")), "no temp files left behind"
    assert h.values("batchkernel.provider.bytes", direction="upload", provider="openai") == [
        plan.input_bytes
    ]
    assert h.values("batchkernel.provider.bytes", direction="download") == [len(expected)]

    assert h.provider.cleanup_batch(h.kernel, ended) is True
    deleted = {f["id"]: f["deleted"] for f in h.ledger_files()}
    assert deleted[submitted.input_file_id] is True
    assert deleted[status.output_file_id] is True
    assert len(h.values("batchkernel.provider.calls", operation="create", outcome="ok")) == 1


def test_download_without_known_file_ids_refreshes_them(harness: Harness, tmp_path: Path) -> None:
    """A LocalBatch with no file ids yet: the provider asks the server for them first."""
    h = harness
    plan = h.plan()
    submitted = h.provider.submit_batch(h.kernel, plan)
    result = h.provider.download_results(h.kernel, _local(plan.batch_id, submitted), tmp_path)
    assert result.output_path is not None and result.output_path.exists()


def test_cleanup_keeps_files_when_retention_is_keep(harness: Harness) -> None:
    """``openai.file_retention = keep``: nothing is deleted."""
    h = harness
    h.kernel.settings.set("openai.file_retention", "keep")
    submitted = h.provider.submit_batch(h.kernel, h.plan())
    h.provider.cleanup_batch(h.kernel, _local("b1", submitted))
    assert not any(f["deleted"] for f in h.ledger_files())


def test_cleanup_never_raises(harness: Harness) -> None:
    """File and batch unknown: gone, so clean; server gone: not clean yet, and no exception."""
    h = harness
    batch = LocalBatch(
        "bx", "c1", BatchStatus.APPLIED, "k", "batch_x", input_file_id="file-unknown"
    )
    assert h.provider.cleanup_batch(h.kernel, batch) is True
    h.server.stop()
    assert h.provider.cleanup_batch(h.kernel, batch) is False


def test_lost_create_response_is_adopted_not_repeated(harness: Harness) -> None:
    """The server creates the batch and drops the answer: one batch exists and submit returns it."""
    h = harness
    h.server.configure(first_lost_create=1)
    plan = h.plan()
    submitted = h.provider.submit_batch(h.kernel, plan)
    [only] = h.ledger_batches()
    assert only["create_response_lost"] is True
    assert submitted.provider_batch_id == only["id"]
    assert submitted.input_file_id == only["input_file_id"]
    assert not any(f["deleted"] for f in h.ledger_files()), "the batch's input file is kept"
    assert len(h.values("batchkernel.provider.calls", operation="create")) == 1
    assert h.values("batchkernel.provider.calls", operation="list", outcome="ok")


def test_create_timeout_after_the_server_acted_is_adopted(harness: Harness) -> None:
    """A create answered too late (client timeout): the batch is found, not created twice."""
    h = harness
    h.kernel.settings.set("openai.timeout_seconds", 0.5)
    h.server.configure(first_slow={"batches.create": 1}, slow_seconds=1.5)
    plan = h.plan()
    submitted = h.provider.submit_batch(h.kernel, plan)
    [only] = h.ledger_batches()
    assert submitted.provider_batch_id == only["id"]
    assert h.values("batchkernel.provider.calls", operation="create", outcome="timeout") == [1]


def test_lost_create_with_lookup_down_is_unknown_then_adopted(harness: Harness) -> None:
    """Create lost and list failing: no repeat, file kept; the next submit adopts without uploading."""
    h = harness
    h.kernel.settings.set("openai.max_retries", 1)
    h.server.configure(first_lost_create=1, first_500={"batches.list": 100})
    plan = h.plan()
    with pytest.raises(OutcomeUnknownError) as info:
        h.provider.submit_batch(h.kernel, plan)
    assert info.value.retryable is True
    assert len(h.ledger_batches()) == 1
    name = f"bk-{plan.submission_key}.jsonl"
    [kept] = h.ledger_files(name)
    assert kept["deleted"] is False

    h.server.configure(first_500={})
    submitted = h.provider.submit_batch(h.kernel, plan)
    [only] = h.ledger_batches()
    assert submitted.provider_batch_id == only["id"]
    assert submitted.input_file_id == kept["id"]
    assert len(h.ledger_files(name)) == 1, "adopted before uploading again"


def test_rate_limited_create_waits_retry_after_then_succeeds(harness: Harness) -> None:
    """429 with retry-after 20 ms: the provider waits exactly that, then creates once."""
    h = harness
    h.server.configure(first_429={"batches.create": 1}, retry_after_seconds=0.02)
    plan = h.plan()
    submitted = h.provider.submit_batch(h.kernel, plan)
    assert [b["id"] for b in h.ledger_batches()] == [submitted.provider_batch_id]
    assert h.clock.sleeps == [pytest.approx(0.02)]
    assert h.injected("batches.create", "429") == 1
    assert h.values("batchkernel.provider.retries", operation="create") == [1]
    assert not h.values("batchkernel.provider.calls", operation="list"), "429: no lookup needed"


def test_retry_after_longer_than_the_cap_fails_fast(harness: Harness) -> None:
    """A server asking for 5 s (> backoff_max 0.05 s): no sleep, retryable error, upload removed."""
    h = harness
    h.server.configure(first_429={"batches.create": 1}, retry_after_seconds=5)
    with pytest.raises(ProviderError) as info:
        h.provider.submit_batch(h.kernel, h.plan())
    assert info.value.retryable is True
    assert h.clock.sleeps == []
    assert h.ledger_batches() == []
    assert all(f["deleted"] for f in h.ledger_files())


def test_server_errors_twice_then_success(harness: Harness) -> None:
    """500 x2 on create: each is followed by a lookup, then a retry; exactly one batch."""
    h = harness
    h.server.configure(first_500={"batches.create": 2, "batches.retrieve": 2})
    plan = h.plan()
    submitted = h.provider.submit_batch(h.kernel, plan)
    assert [b["id"] for b in h.ledger_batches()] == [submitted.provider_batch_id]
    assert h.injected("batches.create", "500") == 2
    assert len(h.values("batchkernel.provider.calls", operation="list", outcome="ok")) == 2
    assert len(h.clock.sleeps) == 2
    assert all(0 <= s <= 0.05 for s in h.clock.sleeps)

    status = h.provider.poll_batch(h.kernel, _local(plan.batch_id, submitted))
    assert status.provider_batch_id == submitted.provider_batch_id
    assert h.injected("batches.retrieve", "500") == 2


def test_create_that_keeps_failing_deletes_the_upload(harness: Harness) -> None:
    """Every create attempt fails with 500 and no batch exists: retryable error, file removed."""
    h = harness
    h.kernel.settings.set("openai.max_retries", 2)
    h.server.configure(first_500={"batches.create": 100})
    with pytest.raises(ProviderError) as info:
        h.provider.submit_batch(h.kernel, h.plan())
    assert info.value.retryable is True
    assert h.injected("batches.create", "500") == 3
    assert h.ledger_batches() == []
    assert all(f["deleted"] for f in h.ledger_files())


def test_bad_request_on_create_is_final_and_deletes_the_upload(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """400 (an endpoint the API refuses): not retryable, no retry, uploaded file deleted."""
    h = harness
    monkeypatch.setattr(provider_module, "endpoint_of", lambda path, default: "/v1/not-an-endpoint")
    with pytest.raises(ProviderError) as info:
        h.provider.submit_batch(h.kernel, h.plan())
    assert info.value.retryable is False
    assert "400" in str(info.value)
    assert h.ledger_batches() == []
    [uploaded] = h.ledger_files()
    assert uploaded["deleted"] is True
    assert len(h.values("batchkernel.provider.calls", operation="create")) == 1
    assert h.provider.breaker_states()["create"]["state"] == "closed"


def test_missing_input_file_is_not_retryable(harness: Harness) -> None:
    """A plan whose file vanished cannot be submitted: non-retryable, nothing uploaded."""
    h = harness
    plan = h.plan()
    plan.input_path.unlink()
    with pytest.raises(ProviderError) as info:
        h.provider.submit_batch(h.kernel, plan)
    assert info.value.retryable is False
    assert h.ledger_files() == []


def test_dropped_upload_is_retried(harness: Harness) -> None:
    """A connection dropped on upload is retried; the batch uses the one stored file."""
    h = harness
    h.server.configure(first_drop={"files.create": 1})
    plan = h.plan()
    submitted = h.provider.submit_batch(h.kernel, plan)
    assert h.injected("files.create", "drop") == 1
    live = [f for f in h.ledger_files(f"bk-{plan.submission_key}.jsonl") if not f["deleted"]]
    assert [f["id"] for f in live] == [submitted.input_file_id]


def test_upload_timeout_orphan_is_deleted(harness: Harness) -> None:
    """An upload stored server-side but answered too late is found by name and deleted."""
    h = harness
    h.kernel.settings.set("openai.timeout_seconds", 0.5)
    h.server.configure(first_slow={"files.create": 1}, slow_seconds=1.5)
    plan = h.plan()
    submitted = h.provider.submit_batch(h.kernel, plan)
    files = h.ledger_files(f"bk-{plan.submission_key}.jsonl")
    assert len(files) == 2
    assert {f["id"]: f["deleted"] for f in files} == {
        f["id"]: f["id"] != submitted.input_file_id for f in files
    }


def test_breaker_opens_refuses_without_calling_and_half_open_probe_closes(
    harness: Harness,
) -> None:
    """Threshold 2: two failed polls open it; the next poll never reaches the server; a probe heals."""
    h = harness
    h.kernel.settings.set("openai.circuit_failure_threshold", 2)
    h.kernel.settings.set("openai.circuit_reset_seconds", 60)
    h.kernel.settings.set("openai.max_retries", 1)
    plan = h.plan()
    local = _local(plan.batch_id, h.provider.submit_batch(h.kernel, plan))
    h.server.configure(first_500={"batches.retrieve": 100})

    for _ in range(2):
        with pytest.raises(ProviderError) as info:
            h.provider.poll_batch(h.kernel, local)
        assert info.value.retryable is True
    assert h.injected("batches.retrieve", "500") == 4
    assert h.provider.breaker_states()["retrieve"]["state"] == "open"
    assert h.provider.breaker_states()["create"]["state"] == "closed"
    assert h.values("batchkernel.provider.circuit.state", operation="retrieve") == [1.0]

    with pytest.raises(CircuitOpenError) as refused:
        h.provider.poll_batch(h.kernel, local)
    assert refused.value.retryable is True
    assert h.injected("batches.retrieve", "500") == 4, "an open breaker makes no call"

    h.clock.advance(60)
    with pytest.raises(ProviderError):
        h.provider.poll_batch(h.kernel, local)
    assert h.injected("batches.retrieve", "500") == 5, "the probe is one attempt"
    assert h.provider.breaker_states()["retrieve"]["state"] == "open"

    h.clock.advance(60)
    h.server.configure(first_500={})
    status = h.provider.poll_batch(h.kernel, local)
    assert status.provider_batch_id == local.provider_batch_id
    assert h.provider.breaker_states()["retrieve"] == {
        "state": "closed",
        "failures": 0,
        "opened_at": None,
    }
    assert h.values("batchkernel.provider.circuit.state", operation="retrieve") == [
        1.0,
        0.5,
        1.0,
        0.5,
        0.0,
    ]


def test_expired_result_file_is_reported_missing(harness: Harness, tmp_path: Path) -> None:
    """A 404 on file content (expired): that id goes to ``missing`` and its path is None."""
    h = harness
    plan = h.plan()
    submitted = h.provider.submit_batch(h.kernel, plan)
    status = h.provider.poll_batch(h.kernel, _local(plan.batch_id, submitted))
    assert status.output_file_id is not None
    h.server.configure(first_404={"files.content": 1})
    ended = _local(plan.batch_id, submitted, output_file_id=status.output_file_id)
    result = h.provider.download_results(h.kernel, ended, tmp_path / "results")
    assert result.output_path is None
    assert result.missing == (status.output_file_id,)
    assert list((tmp_path / "results").iterdir()) == []
    assert h.provider.breaker_states()["download"]["failures"] == 0


def test_find_batch_by_submission_key(harness: Harness) -> None:
    """find_batch returns the batch carrying the plan's key, and None for an unknown key."""
    h = harness
    plans = [h.plan() for _ in range(3)]
    submitted = [h.provider.submit_batch(h.kernel, p) for p in plans]
    found = h.provider.find_batch(h.kernel, plans[1])
    assert found is not None
    assert found.provider_batch_id == submitted[1].provider_batch_id
    assert found.metadata["batchkernel_batch_id"] == plans[1].batch_id
    assert h.provider.find_batch(h.kernel, h.plan(key="never-submitted")) is None


def test_find_batch_pages_through_many_batches(harness: Harness) -> None:
    """A key older than the first page of 100 is still found on a later page."""
    h = harness
    target = h.plan()
    h.provider.submit_batch(h.kernel, target)
    client = _sdk(h)
    [existing] = h.ledger_batches()
    for _ in range(105):
        client.batches.create(
            input_file_id=existing["input_file_id"],
            endpoint="/v1/chat/completions",
            completion_window="24h",
        )
    found = h.provider.find_batch(h.kernel, target)
    assert found is not None and found.provider_batch_id == existing["id"]


def test_cancel_running_and_ended_batches(harness: Harness) -> None:
    """A running batch goes to cancelling; cancelling one that ended returns its final state."""
    h = harness
    h.server.configure(in_progress_seconds=60)
    plan = h.plan()
    local = _local(plan.batch_id, h.provider.submit_batch(h.kernel, plan))
    assert h.provider.cancel_batch(h.kernel, local).status in ("cancelling", "cancelled")

    h.server.configure(in_progress_seconds=0)
    done_plan = h.plan()
    done = _local(done_plan.batch_id, h.provider.submit_batch(h.kernel, done_plan))
    assert h.provider.poll_batch(h.kernel, done).status == "completed"
    assert h.provider.cancel_batch(h.kernel, done).status == "completed"


def test_large_download_is_streamed_in_chunks(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 5 MB result arrives as bounded chunks written one by one, and matches byte for byte."""
    h = harness
    line = json.dumps({"custom_id": "x", "response": {"body": "y" * 900}}) + "\n"
    source = tmp_path / "big.jsonl"
    with source.open("w") as out:
        for _ in range(5 * 1024 * 1024 // len(line) + 1):
            out.write(line)
    with source.open("rb") as handle:
        stored = _sdk(h).files.create(file=("big.jsonl", handle), purpose="batch")

    chunk_sizes: list[int] = []
    original = provider_files.write_chunks

    def spying(chunks: Iterable[bytes], sink: IO[bytes]) -> int:
        """Record each chunk's size on its way to the real writer."""

        def watched() -> Iterator[bytes]:
            """Pass chunks through, noting their sizes."""
            for chunk in chunks:
                chunk_sizes.append(len(chunk))
                yield chunk

        return original(watched(), sink)

    monkeypatch.setattr(provider_files, "CHUNK_SIZE", 64 * 1024)
    monkeypatch.setattr(provider_files, "write_chunks", spying)
    batch = LocalBatch(
        "big", "c1", BatchStatus.COMPLETED, "k", "batch_big", output_file_id=stored.id
    )
    result = h.provider.download_results(h.kernel, batch, tmp_path / "out")
    assert result.output_path is not None
    size = source.stat().st_size
    assert size > 5 * 1024 * 1024
    assert sum(chunk_sizes) == size
    assert len(chunk_sizes) >= size // (64 * 1024)
    assert max(chunk_sizes) <= 64 * 1024
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    assert hashlib.sha256(result.output_path.read_bytes()).hexdigest() == digest
