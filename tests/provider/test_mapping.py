"""Unit tests of SDK ``Batch`` → kernel type mapping, including sparse and odd objects."""

from __future__ import annotations

from openai.types import Batch
from openai.types.batch import Errors
from openai.types.batch_error import BatchError as SdkBatchError
from openai.types.batch_request_counts import BatchRequestCounts

from kernel.types import BatchError, ProviderBatch
from plugins.openai_provider.mapping import (
    SUBMISSION_KEY,
    batch_metadata,
    submission_key_of,
    to_provider_batch,
    to_submitted,
)


def test_full_batch_maps_every_field() -> None:
    """Status, file ids, counts, errors, metadata and creation time all come across."""
    batch = Batch.construct(
        id="batch_1",
        object="batch",
        status="completed",
        endpoint="/v1/chat/completions",
        completion_window="24h",
        created_at=1_700_000_000,
        input_file_id="file-in",
        output_file_id="file-out",
        error_file_id="file-err",
        request_counts=BatchRequestCounts(total=10, completed=8, failed=2),
        errors=Errors(
            data=[SdkBatchError(code="invalid_json", message="bad line", line=3, param=None)]
        ),
        metadata={SUBMISSION_KEY: "k1", "other": "x"},
    )
    assert to_provider_batch(batch) == ProviderBatch(
        provider_batch_id="batch_1",
        status="completed",
        input_file_id="file-in",
        output_file_id="file-out",
        error_file_id="file-err",
        total=10,
        completed=8,
        failed=2,
        errors=(BatchError("invalid_json", "bad line", 3),),
        metadata={SUBMISSION_KEY: "k1", "other": "x"},
        created_at=1_700_000_000,
    )
    assert submission_key_of(batch) == "k1"


def test_sparse_batch_with_nones_and_unknown_status() -> None:
    """Missing counts, errors and metadata give zeros and empties; odd statuses are kept."""
    batch = Batch.construct(id="batch_2", status="paused_for_maintenance")
    mapped = to_provider_batch(batch)
    assert mapped.status == "paused_for_maintenance"
    assert (mapped.total, mapped.completed, mapped.failed) == (0, 0, 0)
    assert mapped.errors == ()
    assert mapped.metadata == {}
    assert mapped.created_at is None
    assert mapped.output_file_id is None
    assert submission_key_of(batch) is None


def test_error_without_message_and_no_status() -> None:
    """An error with only a code uses the code as message; a missing status reads "unknown"."""
    batch = Batch.construct(
        id="batch_3",
        status=None,
        errors=Errors(data=[SdkBatchError(code="token_limit_exceeded")]),
        metadata={"n": None},
    )
    mapped = to_provider_batch(batch)
    assert mapped.status == "unknown"
    assert mapped.errors == (BatchError("token_limit_exceeded", "token_limit_exceeded", None),)
    assert mapped.metadata == {"n": ""}


def test_plain_dict_is_accepted() -> None:
    """A JSON dict shaped like a batch maps the same way."""
    mapped = to_provider_batch(
        {
            "id": "batch_4",
            "status": "in_progress",
            "request_counts": {"total": 3, "completed": 1, "failed": 0},
            "errors": {"data": [{"code": None, "message": "m", "line": "7"}]},
        }
    )
    assert (mapped.status, mapped.total, mapped.completed) == ("in_progress", 3, 1)
    assert mapped.errors == (BatchError(None, "m", 7),)


def test_submitted_and_metadata_helpers() -> None:
    """SubmittedBatch falls back to the uploaded file id; metadata carries the four keys."""
    submitted = to_submitted(ProviderBatch("batch_5", "validating"), "file-up")
    assert (submitted.provider_batch_id, submitted.input_file_id, submitted.status) == (
        "batch_5",
        "file-up",
        "validating",
    )
    assert batch_metadata("key", "b1", "c1", "gpt-4o-mini") == {
        "batchkernel_submission_key": "key",
        "batchkernel_batch_id": "b1",
        "batchkernel_company_id": "c1",
        "batchkernel_model": "gpt-4o-mini",
    }
