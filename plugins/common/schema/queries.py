"""Queries over the schema's state that every processor answers alike (the defaults of the
``work_left``, ``uncleaned_batches``, ``record_cleaned`` and ``settled_submissions`` hooks) and
that commands and benchmarks count with: work left, counts by state, provider files to clean."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update

from kernel.db.engine import Database
from kernel.db.models import utcnow
from kernel.db.rowcount import rowcount
from kernel.types import BatchStatus, LocalBatch
from plugins.common.schema.models import AIBatchRequest, AIProcessingRequest, Company
from plugins.common.schema.rows import to_local_batch
from plugins.common.schema.statuses import ENDED_BATCH_STATUSES, RequestStatus


def _by_status(db: Database, status: Any) -> dict[str, int]:
    """Rows of the table of ``status`` counted by status."""
    with db.transaction() as session:
        rows = session.execute(select(status, func.count()).group_by(status)).all()
    return {value: count for value, count in rows}


def requests_by_status(db: Database) -> dict[str, int]:
    """Number of requests in each status."""
    return _by_status(db, AIProcessingRequest.status)


def batches_by_status(db: Database) -> dict[str, int]:
    """Number of local batches in each status."""
    return _by_status(db, AIBatchRequest.status)


def paused_pending(db: Database) -> int:
    """Pending requests of paused companies: they wait for a resume, not for the scheduler."""
    r = AIProcessingRequest
    with db.transaction() as session:
        return int(
            session.execute(
                select(func.count()).where(
                    r.status == RequestStatus.PENDING_BATCHING.value,
                    r.company_id.in_(select(Company.id).where(Company.paused_at.is_not(None))),
                )
            ).scalar_one()
        )


def work_left(db: Database) -> dict[str, int]:
    """Pending requests (not counting paused companies'), requests in flight, and batches not
    yet settled (planned, running, ended)."""
    requests = requests_by_status(db)
    batches = batches_by_status(db)
    unsettled = sum(
        count
        for status, count in batches.items()
        if status not in (BatchStatus.APPLIED.value, BatchStatus.ABANDONED.value)
    )
    ended = sum(batches.get(s.value, 0) for s in ENDED_BATCH_STATUSES)
    return {
        "pending": requests.get(RequestStatus.PENDING_BATCHING.value, 0) - paused_pending(db),
        "in_flight": requests.get(RequestStatus.BATCHING_IN_PROGRESS.value, 0),
        "batches_unsettled": unsettled,
        "batches_ended_unapplied": ended,
    }


KEY_CHUNK = 1000
"""Submission keys looked up per statement."""

UNCLEANED = (
    AIBatchRequest.status == BatchStatus.APPLIED.value,
    AIBatchRequest.files_deleted_at.is_(None),
    AIBatchRequest.provider_batch_id.is_not(None),
)


def count_uncleaned(db: Database) -> int:
    """Applied batches whose provider files still wait for their cleanup."""
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).where(*UNCLEANED)) or 0)


def uncleaned_batches(db: Database, limit: int = 100, after: str | None = None) -> list[LocalBatch]:
    """Applied batches whose provider files are not known to be gone, in id order, after the
    id ``after`` (the last of the previous page, so a caller goes round them all)."""
    query = select(AIBatchRequest).where(*UNCLEANED)
    if after is not None:
        query = query.where(AIBatchRequest.id > after)
    with db.transaction() as session:
        rows = session.scalars(query.order_by(AIBatchRequest.id).limit(limit)).all()
        return [to_local_batch(row) for row in rows]


def settled_submission_keys(db: Database, keys: Sequence[str]) -> set[str]:
    """Those of ``keys`` whose local batch is over (applied or abandoned)."""
    over = (BatchStatus.APPLIED.value, BatchStatus.ABANDONED.value)
    unique = sorted(set(keys))
    found: set[str] = set()
    with db.transaction() as session:
        for start in range(0, len(unique), KEY_CHUNK):
            found.update(
                session.scalars(
                    select(AIBatchRequest.submission_key).where(
                        AIBatchRequest.submission_key.in_(unique[start : start + KEY_CHUNK]),
                        AIBatchRequest.status.in_(over),
                    )
                )
            )
    return found


def mark_cleaned(db: Database, batch_ids: Sequence[str]) -> int:
    """Record that the provider files of these applied batches were cleaned up (per retention);
    how many were marked."""
    if not batch_ids:
        return 0
    with db.transaction() as session:
        return rowcount(
            session.execute(
                update(AIBatchRequest)
                .where(
                    AIBatchRequest.id.in_(list(batch_ids)),
                    AIBatchRequest.status == BatchStatus.APPLIED.value,
                    AIBatchRequest.files_deleted_at.is_(None),
                )
                .values(files_deleted_at=utcnow())
            )
        )
