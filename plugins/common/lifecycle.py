"""Rules both processors share: provider status mapping, submission keys, retry backoff, flushing."""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta
from typing import Any

from kernel.types import BatchStatus

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


def should_flush(kernel: Any) -> bool:
    """True when small batches go out at once (``--until-idle``) instead of waiting to fill."""
    return bool(kernel.settings.get("scheduler.flush_small_batches", False))
