"""The product's statuses: of tenants and requests, and the groups of batch statuses the
processors and commands ask about (a batch's own statuses are the kernel's
:class:`kernel.types.BatchStatus`: the scheduler moves batches through them)."""

from __future__ import annotations

import enum

from kernel.types import BatchStatus


class CompanyStatus(enum.StrEnum):
    """Tenant status; only ACTIVE companies are processed."""

    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    TRIAL = "TRIAL"
    ARCHIVED = "ARCHIVED"


class RequestStatus(enum.StrEnum):
    """State of one AI processing request (one session, one processing type)."""

    PENDING_BATCHING = "PENDING_BATCHING"
    BATCHING_IN_PROGRESS = "BATCHING_IN_PROGRESS"
    PROCESSING_COMPLETE = "PROCESSING_COMPLETE"
    PROCESSING_FAILED = "PROCESSING_FAILED"


IN_FLIGHT_BATCH_STATUSES = frozenset(
    {
        BatchStatus.VALIDATING,
        BatchStatus.IN_PROGRESS,
        BatchStatus.FINALIZING,
        BatchStatus.CANCELLING,
    }
)
ENDED_BATCH_STATUSES = frozenset(
    {BatchStatus.COMPLETED, BatchStatus.FAILED, BatchStatus.EXPIRED, BatchStatus.CANCELLED}
)
