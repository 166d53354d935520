"""Rules both processors share: provider status mapping, submission keys, retry backoff, flushing."""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta
from typing import Any

from kernel.types import BatchStatus, LocalBatch, ProviderBatch
from plugins.common.schema.statuses import ENDED_BATCH_STATUSES
from plugins.common.timeutil import utcnow

PROVIDER_STATUS = {
    "validating": BatchStatus.VALIDATING,
    "in_progress": BatchStatus.IN_PROGRESS,
    "finalizing": BatchStatus.FINALIZING,
    "completed": BatchStatus.COMPLETED,
    "failed": BatchStatus.FAILED,
    "expired": BatchStatus.EXPIRED,
    "cancelling": BatchStatus.CANCELLING,
    "cancelled": BatchStatus.CANCELLED,
}
_RANK = {
    BatchStatus.PLANNED: 0,
    BatchStatus.VALIDATING: 1,
    BatchStatus.IN_PROGRESS: 2,
    BatchStatus.FINALIZING: 3,
    BatchStatus.CANCELLING: 3,
    BatchStatus.COMPLETED: 4,
    BatchStatus.FAILED: 4,
    BatchStatus.EXPIRED: 4,
    BatchStatus.CANCELLED: 4,
    BatchStatus.APPLIED: 5,
    BatchStatus.ABANDONED: 5,
}
CAPACITY_ERROR_CODES = frozenset({"token_limit_exceeded", "rate_limit_exceeded"})


def new_submission_key() -> str:
    """A random key stamped on the provider batch's metadata before the create call."""
    return "bk_" + secrets.token_hex(16)


def map_provider_status(status: str) -> BatchStatus | None:
    """The local status for a provider status string; None for one we do not know."""
    return PROVIDER_STATUS.get(status)


def moves_forward(old: BatchStatus, new: BatchStatus) -> bool:
    """Whether a status change goes forward in the lifecycle (a late poll never moves back)."""
    return _RANK[new] > _RANK[old] or (new != old and _RANK[new] == _RANK[old] == 3)


def retry_at(now: datetime, attempts: int, settings: Any) -> datetime:
    """When a request that failed ``attempts`` times may be tried again: exponential, with jitter."""
    base = float(settings.batch.retry_base_seconds)
    cap = float(settings.batch.retry_max_seconds)
    delay = min(cap, base * 2 ** max(attempts - 1, 0))
    return now + timedelta(seconds=delay * random.uniform(0.9, 1.1))


STATUS_COLUMNS = (
    "status",
    "output_file_id",
    "error_file_id",
    "errors",
    "counts_total",
    "counts_completed",
    "counts_failed",
    "ended_at",
    "last_polled_at",
    "note",
)


def status_values(local: LocalBatch, remote: ProviderBatch, log: Any) -> dict[str, Any]:
    """Every column a polled status writes; a status that would move backwards keeps the row's."""
    now = utcnow()
    new = map_provider_status(remote.status)
    values: dict[str, Any] = {
        "status": local.status.value,
        "output_file_id": local.output_file_id,
        "error_file_id": local.error_file_id,
        "errors": [{"code": e.code, "message": e.message, "line": e.line} for e in local.errors]
        or None,
        "counts_total": remote.total,
        "counts_completed": remote.completed,
        "counts_failed": remote.failed,
        "ended_at": None,
        "last_polled_at": now,
        "note": None,
    }
    if new is None:
        log.warning(
            "batch %s: provider reported unknown status %r; kept %s",
            local.batch_id,
            remote.status,
            local.status,
        )
        values["note"] = f"unknown provider status {remote.status!r}"
    elif moves_forward(local.status, new):
        values.update(
            status=new.value,
            output_file_id=remote.output_file_id,
            error_file_id=remote.error_file_id,
            errors=[{"code": e.code, "message": e.message, "line": e.line} for e in remote.errors]
            or None,
        )
        if new in ENDED_BATCH_STATUSES:
            values["ended_at"] = now
    return values
