"""Writes of batch rows both processors share, each one statement whatever the number of batches.

Every row changes only from the state the step read (a late or repeated step changes nothing):
a submission only moves a PLANNED batch, a polled status only a batch still in the status it was
polled in.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import String, update

from kernel.api import KernelAPI
from kernel.types import BatchPlan, BatchStatus, LocalBatch, ProviderBatch, SubmittedBatch
from plugins.common.lifecycle import STATUS_COLUMNS, map_provider_status, status_values
from plugins.common.rowsets import fields_of, rowset
from plugins.common.schema.models import AIBatchRequest
from plugins.common.timeutil import utcnow

BATCHES = AIBatchRequest.__table__
KEY = ("batch_id", String(36))


def record_submitted(
    kernel: KernelAPI, submissions: Sequence[tuple[BatchPlan, SubmittedBatch]]
) -> list[str]:
    """PLANNED -> the provider's status with its ids, for every accepted plan; the ids moved."""
    if not submissions:
        return []
    rows = [
        (
            plan.batch_id,
            (map_provider_status(sub.status) or BatchStatus.VALIDATING).value,
            sub.provider_batch_id,
            sub.input_file_id,
        )
        for plan, sub in submissions
    ]
    with kernel.db.transaction() as session:
        fields = [KEY, *fields_of(BATCHES, "status", "provider_batch_id", "input_file_id")]
        v = rowset(session.get_bind().dialect, fields, rows)
        moved = session.scalars(
            update(BATCHES)
            .where(BATCHES.c.id == v.c.batch_id, BATCHES.c.status == BatchStatus.PLANNED.value)
            .values(
                status=v.c.status,
                provider_batch_id=v.c.provider_batch_id,
                input_file_id=v.c.input_file_id,
                submitted_at=utcnow(),
            )
            .returning(BATCHES.c.id)
        ).all()
    return list(moved)


def record_statuses(kernel: KernelAPI, updates: Sequence[tuple[LocalBatch, ProviderBatch]]) -> int:
    """Every polled status (a status that would go backwards keeps the row's); the number of
    batches whose status changed."""
    if not updates:
        return 0
    rows = []
    polled_in: dict[str, str] = {}
    for local, remote in updates:
        values = status_values(local, remote, kernel.log)
        rows.append((local.batch_id, local.status.value, *(values[c] for c in STATUS_COLUMNS)))
        polled_in[local.batch_id] = local.status.value
    with kernel.db.transaction() as session:
        fields = [KEY, ("polled_in", String(16)), *fields_of(BATCHES, *STATUS_COLUMNS)]
        v = rowset(session.get_bind().dialect, fields, rows)
        written = session.execute(
            update(BATCHES)
            .where(BATCHES.c.id == v.c.batch_id, BATCHES.c.status == v.c.polled_in)
            .values({column: v.c[column] for column in STATUS_COLUMNS})
            .returning(BATCHES.c.id, BATCHES.c.status)
        ).all()
    return sum(1 for batch_id, status in written if status != polled_in[batch_id])
