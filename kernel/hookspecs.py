"""The hook specifications: the contract between the kernel and its plugins (plugins declare
the specifications of the hooks only they call with ``declare_hookspecs``).

``firstresult`` hooks take the first answer that is not ``None`` ("not mine"); the others are
broadcast to every plugin. What each hook is for, who calls it and its rules: ``docs/hooks.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel import hookspec

if TYPE_CHECKING:
    from kernel.api import KernelAPI, Step
    from kernel.settingspec import Section
    from kernel.types import (
        ApplySummary,
        BatchPlan,
        Company,
        LocalBatch,
        Metric,
        ProviderBatch,
        ProviderHealth,
        ResultFiles,
        RetrySummary,
        SubmittedBatch,
    )


class ProcessorSpec:
    """Database work of the pipeline, answered by a processor plugin (a cache in front)."""

    @hookspec(firstresult=True)
    def get_companies(self, kernel: KernelAPI) -> list[Company] | None:
        """The ACTIVE companies in a stable order; caches answer first, ``None`` on a miss."""

    @hookspec(firstresult=True)
    def select_companies(
        self, kernel: KernelAPI, companies: Sequence[Company]
    ) -> list[Company] | None:
        """The companies to claim for now, each with its share; ``None``: all of them."""

    @hookspec(firstresult=True)
    def admit_batches(
        self, kernel: KernelAPI, plans: Sequence[BatchPlan]
    ) -> list[tuple[BatchPlan, bool, str]] | None:
        """One ``(plan, admitted, reason)`` per plan, atomic across instances; ``None``: all go."""

    @hookspec(firstresult=True)
    def fetch_pending(
        self, kernel: KernelAPI, companies: Sequence[Company], flush: bool
    ) -> list[BatchPlan] | None:
        """Claim pending requests into committed PLANNED batches with their input files written;
        ``flush`` sends small batches at once instead of waiting for them to fill."""

    @hookspec(firstresult=True)
    def record_submitted(
        self, kernel: KernelAPI, submissions: Sequence[tuple[BatchPlan, SubmittedBatch]]
    ) -> list[str] | None:
        """Move accepted plans from PLANNED to the provider's status; the ids that moved."""

    @hookspec(firstresult=True)
    def abandon_plan(self, kernel: KernelAPI, plan: BatchPlan, reason: str) -> bool | None:
        """Re-queue a never-accepted plan's members, no attempt spent; True if it was PLANNED."""

    @hookspec(firstresult=True)
    def fetch_stale_plans(
        self, kernel: KernelAPI, older_than_seconds: float
    ) -> list[BatchPlan] | None:
        """Plans left in PLANNED longer than ``older_than_seconds`` (a crash mid-submit)."""

    @hookspec(firstresult=True)
    def fetch_inflight(
        self, kernel: KernelAPI, companies: Sequence[Company]
    ) -> list[LocalBatch] | None:
        """The local batches submitted and not yet ended at the provider."""

    @hookspec(firstresult=True)
    def record_batch_statuses(
        self, kernel: KernelAPI, updates: Sequence[tuple[LocalBatch, ProviderBatch]]
    ) -> int | None:
        """Store polled statuses, each conditional on the old one; how many rows changed."""

    @hookspec(firstresult=True)
    def fetch_finished(
        self, kernel: KernelAPI, companies: Sequence[Company]
    ) -> list[LocalBatch] | None:
        """Batches ended at the provider whose results are not applied yet."""

    @hookspec(firstresult=True)
    def apply_results(
        self, kernel: KernelAPI, results: Sequence[tuple[LocalBatch, ResultFiles]]
    ) -> ApplySummary | None:
        """Apply finished batches' result files to every member, idempotently."""

    @hookspec(firstresult=True)
    def company_concurrency(self, kernel: KernelAPI) -> int | None:
        """How many companies' provider work may run at once; the processor decides."""

    @hookspec(firstresult=True)
    def retry_failed(self, kernel: KernelAPI, companies: Sequence[Company]) -> RetrySummary | None:
        """Close requests out of attempts and re-queue members stranded by ended batches."""

    @hookspec(firstresult=True)
    def uncleaned_batches(
        self, kernel: KernelAPI, limit: int, after: str | None
    ) -> list[LocalBatch] | None:
        """Up to ``limit`` applied batches whose provider files may remain, by id after ``after``."""

    @hookspec(firstresult=True)
    def record_cleaned(self, kernel: KernelAPI, batch_ids: Sequence[str]) -> int | None:
        """Record that these applied batches' provider files are gone; how many were marked."""

    @hookspec(firstresult=True)
    def settled_submissions(self, kernel: KernelAPI, keys: Sequence[str]) -> set[str] | None:
        """Those of ``keys`` whose local batch is over (applied or abandoned)."""


class ProviderSpec:
    """Calls to the batch provider; each provider plugin answers only for its own name."""

    @hookspec(firstresult=True)
    def configured_providers(self, kernel: KernelAPI) -> list[str] | None:
        """The providers new batches may go to, primary first; unanswered: ``plugins.provider``."""

    @hookspec(firstresult=True)
    def provider_health(self, kernel: KernelAPI, provider: str) -> ProviderHealth | None:
        """Whether ``provider`` takes new batches now; ``None`` is taken as healthy."""

    @hookspec(firstresult=True)
    def submit_batch(self, kernel: KernelAPI, plan: BatchPlan) -> SubmittedBatch | None:
        """Create the provider batch for ``plan``; raises ``ProviderError`` (``retryable``)."""

    @hookspec(firstresult=True)
    def poll_batch(self, kernel: KernelAPI, batch: LocalBatch) -> ProviderBatch | None:
        """One batch's current status at the provider."""

    @hookspec(firstresult=True)
    def find_batch(self, kernel: KernelAPI, plan: BatchPlan) -> ProviderBatch | None:
        """The provider batch created for ``plan`` (by submission key); ``None`` if none."""

    @hookspec(firstresult=True)
    def download_results(
        self, kernel: KernelAPI, batch: LocalBatch, directory: Path
    ) -> ResultFiles | None:
        """Stream the batch's output and error files into ``directory``."""

    @hookspec(firstresult=True)
    def cancel_batch(self, kernel: KernelAPI, batch: LocalBatch) -> ProviderBatch | None:
        """Ask the provider to cancel a running batch."""

    @hookspec
    def discard_submission(self, kernel: KernelAPI, plan: BatchPlan) -> None:
        """Delete what the provider holds for an abandoned plan. Must not raise."""

    @hookspec(firstresult=True)
    def cleanup_batch(self, kernel: KernelAPI, batch: LocalBatch) -> bool | None:
        """Delete an applied batch's provider files; True when none is left. Must not raise."""

    @hookspec
    def sweep_provider_files(
        self, kernel: KernelAPI, settled: Callable[[Sequence[str]], set[str]]
    ) -> int | None:
        """Delete provider files of batches that are over; how many. Must not raise."""


class TelemetrySpec:
    """Observability and lifecycle: metrics, task and cycle wrappers, status, shutdown."""

    @hookspec
    def record_metric(self, kernel: KernelAPI, metric: Metric) -> None:
        """Receive one measurement; no return value, must never raise."""

    @hookspec(firstresult=True)
    def run_task(self, kernel: KernelAPI, task: str, step: Step) -> dict[str, float] | None:
        """Run one scheduler task's ``step``; ``core`` answers last, exporters wrap it."""

    @hookspec(firstresult=True)
    def run_cycle(self, kernel: KernelAPI, step: Step) -> dict[str, float] | None:
        """Run one scheduler cycle; ``core`` answers last, exporters wrap it."""

    @hookspec
    def shutdown(self, kernel: KernelAPI) -> None:
        """Release what a plugin holds before the kernel closes. Must not raise."""

    @hookspec
    def collect_status(self, kernel: KernelAPI) -> dict[str, Any] | None:
        """This plugin's JSON-ready status sections, ``{section: data}``. Must not raise."""


class DeclarationSpec:
    """What every known plugin declares, enabled or not: its settings and its tables' history."""

    @hookspec
    def declare_settings(self) -> Sequence[Section]:
        """The settings sections this plugin owns or extends; no ``kernel``, keep it light."""
        raise NotImplementedError

    @hookspec
    def migration_locations(self) -> Sequence[str]:
        """Folders of this plugin's Alembic revisions, in one history with the kernel's. A
        built-in's revisions continue the built-in chain; a third-party plugin's stay on a branch
        of their own (first revision: ``down_revision = None``, ``branch_labels`` its name,
        ``depends_on`` the built-in revision its tables need)."""
        raise NotImplementedError

    @hookspec
    def declare_hookspecs(self) -> Sequence[type]:
        """Classes of hook specifications for the hooks plugins call of each other (the command
        line's, the health checks'), added to every plugin manager the kernel builds."""
        raise NotImplementedError


HOOKSPEC_CLASSES = (
    ProcessorSpec,
    ProviderSpec,
    TelemetrySpec,
    DeclarationSpec,
)
