"""Rows turned into the plain data the hooks exchange (one place, for the kernel and processors)."""

from __future__ import annotations

from datetime import UTC

from kernel.types import BatchError, BatchStatus, LocalBatch
from plugins.common.schema.models import AIBatchRequest


def to_local_batch(row: AIBatchRequest) -> LocalBatch:
    """A batch row as the hooks pass it around (naive SQLite times read as UTC)."""
    submitted = row.submitted_at
    if submitted is not None and submitted.tzinfo is None:
        submitted = submitted.replace(tzinfo=UTC)
    return LocalBatch(
        batch_id=row.id,
        company_id=row.company_id,
        status=BatchStatus(row.status),
        submission_key=row.submission_key,
        provider_batch_id=row.provider_batch_id,
        input_file_id=row.input_file_id,
        output_file_id=row.output_file_id,
        error_file_id=row.error_file_id,
        errors=tuple(
            BatchError(e.get("code"), str(e.get("message", "")), e.get("line"))
            for e in row.errors or []
        ),
        model=row.model,
        submitted_at=submitted,
        processing_type=row.processing_type,
        provider=row.provider,
    )
