"""The Gemini batch Operation (as ``batches.get`` answers it) read into the kernel's plain types.

The SDK's ``BatchJob`` drops two things the kernel needs for the Gemini API: ``batchStats`` (the
progress counts) and the Operation's ``error`` (why a batch failed). So polling reads the
Operation's JSON through the SDK's own HTTP client and maps it here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kernel.types import BatchError, ProviderBatch, SubmittedBatch

STATUS = {
    "PENDING": "validating",
    "QUEUED": "validating",
    "RUNNING": "in_progress",
    "UPDATING": "in_progress",
    "PAUSED": "in_progress",
    "SUCCEEDED": "completed",
    "PARTIALLY_SUCCEEDED": "completed",
    "FAILED": "failed",
    "CANCELLING": "cancelling",
    "CANCELLED": "cancelled",
    "EXPIRED": "expired",
}
SUBMISSION_KEY = "submission_key"
INLINE_PREFIX = "batches/"
"""An ``output_file_id`` naming the batch itself: its results are inline in the Operation."""


def status_of(state: Any) -> str:
    """``BATCH_STATE_X`` / ``JOB_STATE_X`` (string or SDK enum) as the kernel's status word."""
    text = str(getattr(state, "value", state) or "")
    for prefix in ("BATCH_STATE_", "JOB_STATE_"):
        text = text.removeprefix(prefix)
    return STATUS.get(text, text.lower() or "validating")


def _int(value: Any) -> int:
    """An int64 string (or number) as int; anything unusable is 0."""
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError):
        return 0


def _epoch(stamp: Any) -> int | None:
    """An RFC 3339 timestamp as epoch seconds."""
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def to_provider_batch(operation: Mapping[str, Any]) -> ProviderBatch:
    """The kernel's view of one batch Operation."""
    metadata = operation.get("metadata") or {}
    name = str(operation.get("name") or metadata.get("name") or "")
    output = metadata.get("output") or operation.get("response") or {}
    stats = metadata.get("batchStats") or {}
    output_id: str | None = None
    if output.get("responsesFile"):
        output_id = str(output["responsesFile"])
    elif (output.get("inlinedResponses") or {}).get("inlinedResponses"):
        output_id = name
    errors: tuple[BatchError, ...] = ()
    error = operation.get("error")
    if isinstance(error, Mapping):
        errors = (
            BatchError(code=str(error.get("code", "")), message=str(error.get("message", ""))),
        )
    display = metadata.get("displayName")
    return ProviderBatch(
        provider_batch_id=name,
        status=status_of(metadata.get("state")),
        input_file_id=(metadata.get("inputConfig") or {}).get("fileName"),
        output_file_id=output_id,
        error_file_id=None,
        total=_int(stats.get("requestCount")),
        completed=_int(stats.get("successfulRequestCount")),
        failed=_int(stats.get("failedRequestCount")),
        errors=errors,
        metadata={SUBMISSION_KEY: str(display)} if display else {},
        created_at=_epoch(metadata.get("createTime")),
    )


def job_to_provider_batch(job: Any) -> ProviderBatch:
    """The kernel's view of an SDK ``BatchJob`` (a create answer or a list entry)."""
    dest = getattr(job, "dest", None)
    output_id = getattr(dest, "file_name", None) if dest is not None else None
    if output_id is None and dest is not None and getattr(dest, "inlined_responses", None):
        output_id = job.name
    created = getattr(job, "create_time", None)
    src = getattr(job, "src", None)
    return ProviderBatch(
        provider_batch_id=str(job.name),
        status=status_of(job.state),
        input_file_id=getattr(src, "file_name", None) if src is not None else None,
        output_file_id=output_id,
        metadata={SUBMISSION_KEY: job.display_name} if job.display_name else {},
        created_at=int(created.timestamp()) if created is not None else None,
    )


def to_submitted(batch: ProviderBatch, input_file: str) -> SubmittedBatch:
    """What ``submit_batch`` answers."""
    return SubmittedBatch(
        provider_batch_id=batch.provider_batch_id,
        input_file_id=batch.input_file_id or input_file,
        status=batch.status,
    )
