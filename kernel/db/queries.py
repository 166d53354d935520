"""Read-only summaries the kernel itself needs: how much work is left, counts by state."""

from __future__ import annotations

from sqlalchemy import func, select

from kernel.db.engine import Database
from kernel.db.models import AIBatchRequest, AIProcessingRequest
from kernel.types import ENDED_BATCH_STATUSES, BatchStatus, RequestStatus


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
