"""The plain frozen data the hooks exchange (never ORM objects, so plugins share no database
session), the statuses of batches, and the kernel's exceptions."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, Literal


class BatchStatus(enum.StrEnum):
    """State of one local batch: the provider's statuses, plus PLANNED (committed and claimed,
    not yet accepted by the provider), APPLIED (results applied) and ABANDONED (never sent)."""

    PLANNED = "PLANNED"
    VALIDATING = "VALIDATING"
    IN_PROGRESS = "IN_PROGRESS"
    FINALIZING = "FINALIZING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"
    APPLIED = "APPLIED"
    ABANDONED = "ABANDONED"


@dataclass(frozen=True, slots=True)
class Company:
    """An active tenant as the processors see it.

    ``max_batches`` caps the batches ``fetch_pending`` may claim for it in one create step
    (0: no cap); the ``select_companies`` hook sets it from the fair share of the cycle.
    ``providers``: the company's own provider list, primary first (empty: ``routing.providers``).
    """

    id: str
    name: str
    max_batches: int = 0
    providers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """A claimed, committed local batch whose JSONL input file is written and ready to upload."""

    batch_id: str
    company_id: str
    model: str
    processing_type: str
    submission_key: str
    input_path: Path
    request_count: int
    input_bytes: int
    estimated_input_tokens: int
    provider: str = "openai"


@dataclass(frozen=True, slots=True)
class SubmittedBatch:
    """What the provider answered when it accepted a batch."""

    provider_batch_id: str
    input_file_id: str
    status: str


@dataclass(frozen=True, slots=True)
class BatchError:
    """One job-level error the provider reported (validation, capacity)."""

    code: str | None
    message: str
    line: int | None = None


@dataclass(frozen=True, slots=True)
class ProviderBatch:
    """A snapshot of one batch as the provider reports it."""

    provider_batch_id: str
    status: str
    input_file_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    errors: tuple[BatchError, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    created_at: int | None = None
    cancelling_at: int | None = None


@dataclass(frozen=True, slots=True)
class LocalBatch:
    """A local batch row that is in flight or ended at the provider, as the scheduler needs it."""

    batch_id: str
    company_id: str
    status: BatchStatus
    submission_key: str
    provider_batch_id: str | None
    input_file_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: tuple[BatchError, ...] = ()
    model: str = ""
    submitted_at: datetime | None = None
    processing_type: str = ""
    provider: str = "openai"


@dataclass(frozen=True, slots=True)
class ResultFiles:
    """A batch's downloaded output and error files (None: no such file); ``rejected``: requests
    a batch that failed validation blamed, with the provider's message (they fail for good)."""

    output_path: Path | None
    error_path: Path | None
    missing: tuple[str, ...] = ()
    rejected: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ApplySummary:
    """What applying results did: member requests by outcome, tokens, cost, batches settled."""

    completed: int = 0
    failed: int = 0
    requeued: int = 0
    ignored_lines: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    batches: int = 0
    already_applied: int = 0

    def __add__(self, other: ApplySummary) -> ApplySummary:
        """Field-wise sum, to total several batches."""
        return ApplySummary(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True, slots=True)
class RetrySummary:
    """What one retry pass did: requests re-queued and requests closed for good."""

    requeued: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class ProviderHealth:
    """Whether a provider can take new batches now: ``ok``, or why not and until when."""

    provider: str
    condition: Literal["ok", "quota", "circuit", "config"]
    reason: str = ""
    until: datetime | None = None


MetricKind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True, slots=True)
class Metric:
    """One measurement broadcast through ``record_metric`` (OpenTelemetry-style name, base unit)."""

    name: str
    kind: MetricKind
    value: float
    unit: str = "1"
    attributes: Mapping[str, Any] = field(default_factory=dict)


class KernelError(Exception):
    """Base class of every error batchkernel raises on purpose."""


class ConfigError(KernelError):
    """A setting is missing or invalid; the message names the setting and the valid values."""

    @classmethod
    def raise_for(cls, problems: Sequence[str], one: str, many: str) -> None:
        """Raise one error listing every problem (``one: ...`` or ``many:`` and a line each)."""
        if len(problems) == 1:
            raise cls(f"{one}: {problems[0]}")
        if problems:
            raise cls(f"{many}:\n  " + "\n  ".join(problems))


class PluginLoadError(KernelError):
    """A plugin could not be found, imported or registered."""


class NoProviderError(KernelError):
    """No registered plugin answered a hook that needs an answer."""


class ProviderError(KernelError):
    """A provider call failed; ``retryable``: trying later can succeed; ``condition``: ``"quota"``,
    ``"config"``, ``"rate_limit"`` or ``None`` (ordinary), for the scheduler and routing."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        operation: str = "",
        condition: str | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.operation = operation
        self.condition = condition
