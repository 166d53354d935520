"""The retry step's two statements, shared by both processors: close requests that used up their
attempts, and re-queue members of batches that are over (applied or abandoned) or of none."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update

from kernel.types import BatchStatus, RetrySummary
from plugins.common.schema.models import AIBatchRequest, AIProcessingRequest
from plugins.common.schema.statuses import RequestStatus
from plugins.common.timeutil import utcnow

SETTLED = (BatchStatus.APPLIED, BatchStatus.ABANDONED)


def retry_companies(session: Any, company_ids: Sequence[str], max_attempts: int) -> RetrySummary:
    """Both statements for ``company_ids`` in the caller's transaction; what they changed."""
    r = AIProcessingRequest
    now = utcnow()
    failed = session.execute(
        update(r)
        .where(
            r.company_id.in_(company_ids),
            r.status == RequestStatus.PENDING_BATCHING,
            r.attempts >= max_attempts,
        )
        .values(
            status=RequestStatus.PROCESSING_FAILED,
            completed_at=now,
            error=func.coalesce(r.error, "attempts used up"),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    stranded = select(AIBatchRequest.id).where(AIBatchRequest.status.in_(SETTLED))
    requeued = session.execute(
        update(r)
        .where(
            r.company_id.in_(company_ids),
            r.status == RequestStatus.BATCHING_IN_PROGRESS,
            r.batch_id.is_(None) | r.batch_id.in_(stranded),
        )
        .values(status=RequestStatus.PENDING_BATCHING, batch_id=None, available_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    return RetrySummary(requeued=requeued or 0, failed=failed or 0)
