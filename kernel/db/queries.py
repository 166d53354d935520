"""Queries the kernel itself needs: how much work is left, counts by state, file cleanup."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update

from kernel.db.engine import Database
from kernel.db.models import AIBatchRequest, AIProcessingRequest, utcnow
from kernel.db.rows import to_local_batch
from kernel.types import ENDED_BATCH_STATUSES, BatchStatus, LocalBatch, RequestStatus


def requests_by_status(db: Database) -> dict[str, int]:
    """Number of requests in each status."""
    with db.transaction() as session:
        rows = session.execute(
            select(AIProcessingRequest.status, func.count()).group_by(AIProcessingRequest.status)
        ).all()
    return {status: count for status, count in rows}


def batches_by_status(db: Database) -> dict[str, int]:
    """Number of local batches in each status."""
    with db.transaction() as session:
        rows = session.execute(
            select(AIBatchRequest.status, func.count()).group_by(AIBatchRequest.status)
        ).all()
    return {status: count for status, count in rows}


def work_left(db: Database) -> dict[str, int]:
    """Pending requests, requests in flight, and batches not yet settled (planned, running, ended)."""
    requests = requests_by_status(db)
    batches = batches_by_status(db)
    unsettled = sum(
        count
        for status, count in batches.items()
        if status not in (BatchStatus.APPLIED.value, BatchStatus.ABANDONED.value)
    )
    ended = sum(batches.get(s.value, 0) for s in ENDED_BATCH_STATUSES)
    return {
        "pending": requests.get(RequestStatus.PENDING_BATCHING.value, 0),
        "in_flight": requests.get(RequestStatus.BATCHING_IN_PROGRESS.value, 0),
        "batches_unsettled": unsettled,
        "batches_ended_unapplied": ended,
    }


UNCLEANED = (
    AIBatchRequest.status == BatchStatus.APPLIED.value,
    AIBatchRequest.files_deleted_at.is_(None),
    AIBatchRequest.provider_batch_id.is_not(None),
)


def count_uncleaned(db: Database) -> int:
    """Applied batches whose provider files still wait for their cleanup."""
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).where(*UNCLEANED)) or 0)


def uncleaned_batches(db: Database, limit: int = 100) -> list[LocalBatch]:
    """Applied batches whose provider files were never cleaned up (an instance died between
    applying the results and deleting the files), oldest first."""
    with db.transaction() as session:
        rows = session.scalars(
            select(AIBatchRequest)
            .where(*UNCLEANED)
            .order_by(AIBatchRequest.applied_at)
            .limit(limit)
        ).all()
        return [to_local_batch(row) for row in rows]


def mark_cleaned(db: Database, batch_ids: Sequence[str]) -> None:
    """Record that the provider files of these applied batches were cleaned up (per retention)."""
    if not batch_ids:
        return
    with db.transaction() as session:
        session.execute(
            update(AIBatchRequest)
            .where(
                AIBatchRequest.id.in_(list(batch_ids)),
                AIBatchRequest.status == BatchStatus.APPLIED.value,
                AIBatchRequest.files_deleted_at.is_(None),
            )
            .values(files_deleted_at=utcnow())
        )
