"""Turns SDK ``Batch`` objects into the kernel's plain types, tolerating missing or odd fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kernel.types import BatchError, ProviderBatch, SubmittedBatch

SUBMISSION_KEY = "batchkernel_submission_key"
BATCH_ID_KEY = "batchkernel_batch_id"
COMPANY_ID_KEY = "batchkernel_company_id"
MODEL_KEY = "batchkernel_model"


def _field(obj: Any, name: str) -> Any:
    """Read ``name`` from an SDK model or a plain mapping; ``None`` if absent."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _int(value: Any) -> int:
    """A count as int; anything unusable is 0."""
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError):
        return 0


def _optional_int(value: Any) -> int | None:
    """A timestamp as int, or ``None`` when absent or unusable."""
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _optional_str(value: Any) -> str | None:
    """A non-empty string or ``None``."""
    return str(value) if value not in (None, "") else None


def map_errors(errors: Any) -> tuple[BatchError, ...]:
    """``batch.errors.data[]`` as :class:`BatchError` tuples (code, message, line)."""
    data = _field(errors, "data")
    if data is None and isinstance(errors, list | tuple):
        data = errors
    out: list[BatchError] = []
    for item in data or ():
        code = _optional_str(_field(item, "code"))
        message = _field(item, "message")
        out.append(
            BatchError(
                code=code,
                message=str(message) if message is not None else (code or "unknown error"),
                line=_optional_int(_field(item, "line")),
            )
        )
    return tuple(out)


def map_metadata(metadata: Any) -> dict[str, str]:
    """The metadata dict with string keys and values (``None`` becomes empty)."""
    if not isinstance(metadata, Mapping):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in metadata.items()}


def to_provider_batch(batch: Any) -> ProviderBatch:
    """Map an SDK ``Batch`` (or a dict shaped like one) to :class:`ProviderBatch`.

    Unknown statuses are kept as they come; the kernel decides what they mean.
    """
    counts = _field(batch, "request_counts")
    return ProviderBatch(
        provider_batch_id=str(_field(batch, "id") or ""),
        status=str(_field(batch, "status") or "unknown"),
        input_file_id=_optional_str(_field(batch, "input_file_id")),
        output_file_id=_optional_str(_field(batch, "output_file_id")),
        error_file_id=_optional_str(_field(batch, "error_file_id")),
        total=_int(_field(counts, "total")),
        completed=_int(_field(counts, "completed")),
        failed=_int(_field(counts, "failed")),
        errors=map_errors(_field(batch, "errors")),
        metadata=map_metadata(_field(batch, "metadata")),
        created_at=_optional_int(_field(batch, "created_at")),
        cancelling_at=_optional_int(_field(batch, "cancelling_at")),
    )


def to_submitted(batch: ProviderBatch, input_file_id: str) -> SubmittedBatch:
    """What ``submit_batch`` returns for an accepted (or adopted) provider batch."""
    return SubmittedBatch(
        provider_batch_id=batch.provider_batch_id,
        input_file_id=batch.input_file_id or input_file_id,
        status=batch.status,
    )


def submission_key_of(batch: Any) -> str | None:
    """The submission key stamped in a batch's metadata, if any."""
    return _optional_str(map_metadata(_field(batch, "metadata")).get(SUBMISSION_KEY))


def batch_metadata(
    submission_key: str, batch_id: str, company_id: str, model: str
) -> dict[str, str]:
    """The metadata stamped on every batch we create (values cut to the API's 512 chars)."""
    return {
        SUBMISSION_KEY: submission_key[:512],
        BATCH_ID_KEY: batch_id[:512],
        COMPANY_ID_KEY: company_id[:512],
        MODEL_KEY: model[:512],
    }
