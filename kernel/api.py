"""``KernelAPI``: the typed contract every hook implementation receives as ``kernel``.

A protocol, so plugins depend on what the kernel offers rather than on ``kernel.manager.Kernel``
and tests can pass any object with these members; the hooks are in ``docs/hooks.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import logging

    import pluggy
    from dynaconf import Dynaconf

    from kernel.db.engine import Database
    from kernel.types import (
        ApplySummary,
        BatchPlan,
        Company,
        LocalBatch,
        MetricKind,
        ProviderBatch,
        ProviderHealth,
        ResultFiles,
        RetrySummary,
        SubmittedBatch,
    )

Step = Callable[[], dict[str, float]]
"""One scheduler step or cycle: runs and returns its counts."""


class Reporting(Protocol):
    """The part of the kernel that reports: its logger and metrics (all a retry loop needs)."""

    log: logging.Logger
    """The kernel's logger (``batchkernel``)."""

    def metric(
        self,
        name: str,
        value: float,
        *,
        kind: MetricKind = "counter",
        unit: str = "1",
        **attrs: Any,
    ) -> None:
        """Broadcast one measurement to every exporter."""


class KernelAPI(Reporting, Protocol):
    """What a plugin may use of the kernel it is called with."""

    settings: Dynaconf
    """The effective settings (defaults, file, environment), validated."""
    pm: pluggy.PluginManager
    """The plugin manager: look up another plugin (``get_plugin``) or call a subset of a hook."""
    instance_id: str | None
    """The running scheduler's instance id, ``None`` outside a scheduler."""

    @property
    def db(self) -> Database:
        """The database, opened on first use."""

    @property
    def workdir(self) -> Path:
        """Directory for batch input and result files."""

    def crashpoint(self, name: str) -> None:
        """A named crash point for fault-injection tests."""

    def close(self) -> None:
        """Release the plugins' resources and the database connections."""

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called: threads working for this kernel stop."""

    def providers(self) -> list[str]:
        """The configured providers, primary first."""

    def provider_health(self, provider: str) -> ProviderHealth:
        """Whether ``provider`` takes new batches now."""

    def get_companies(self) -> list[Company]:
        """The active companies."""

    def select_companies(self, companies: Sequence[Company]) -> list[Company]:
        """The companies to claim work for this cycle."""

    def admit_batches(self, plans: Sequence[BatchPlan]) -> list[tuple[BatchPlan, bool, str]]:
        """Which plans may be submitted now, and why not."""

    def fetch_pending(
        self, companies: Sequence[Company], *, flush: bool = False
    ) -> list[BatchPlan]:
        """Claim pending work into planned batches with their input files written; ``flush``
        sends small batches at once instead of waiting for them to fill."""

    def submit_batch(self, plan: BatchPlan) -> SubmittedBatch:
        """Send one planned batch to the provider."""

    def record_submitted(
        self, submissions: Sequence[tuple[BatchPlan, SubmittedBatch]]
    ) -> list[str]:
        """Record the provider's acceptance of plans."""

    def abandon_plan(self, plan: BatchPlan, reason: str) -> bool:
        """Return a never-submitted plan's members to the queue."""

    def fetch_stale_plans(self, older_than_seconds: float) -> list[BatchPlan]:
        """Plans stuck in PLANNED."""

    def fetch_inflight(self, companies: Sequence[Company]) -> list[LocalBatch]:
        """Batches to poll."""

    def poll_batch(self, batch: LocalBatch) -> ProviderBatch:
        """One batch's status at the provider."""

    def find_batch(self, plan: BatchPlan) -> ProviderBatch | None:
        """The provider batch created for a plan, if any."""

    def record_batch_statuses(self, updates: Sequence[tuple[LocalBatch, ProviderBatch]]) -> int:
        """Store polled statuses."""

    def fetch_finished(self, companies: Sequence[Company]) -> list[LocalBatch]:
        """Ended batches whose results are not applied yet."""

    def download_results(self, batch: LocalBatch, directory: Path) -> ResultFiles:
        """Stream a batch's result files to disk."""

    def apply_results(self, results: Sequence[tuple[LocalBatch, ResultFiles]]) -> ApplySummary:
        """Apply finished batches' results."""

    def company_concurrency(self) -> int:
        """How many companies' provider work may run at once."""

    def discard_submission(self, plan: BatchPlan) -> None:
        """Let the provider delete files uploaded for an abandoned plan."""

    def cleanup_batch(self, batch: LocalBatch) -> bool:
        """Delete provider files of an applied batch; whether none is left."""

    def sweep_provider_files(self, settled: Callable[[Sequence[str]], set[str]]) -> int:
        """Delete provider files of batches that are over."""

    def cancel_batch(self, batch: LocalBatch) -> ProviderBatch:
        """Ask the provider to cancel a batch."""

    def retry_failed(self, companies: Sequence[Company]) -> RetrySummary:
        """Close exhausted requests and re-queue stranded ones."""

    def uncleaned_batches(self, limit: int, after: str | None) -> list[LocalBatch]:
        """Applied batches whose provider files may remain, by id after ``after``."""

    def record_cleaned(self, batch_ids: Sequence[str]) -> int:
        """Record that these applied batches' provider files are gone."""

    def settled_submissions(self, keys: Sequence[str]) -> set[str]:
        """Those of ``keys`` whose local batch is over."""

    def run_task(self, task: str, step: Step) -> dict[str, float]:
        """Run a scheduler step through the hook."""

    def run_cycle(self, step: Step) -> dict[str, float]:
        """Run one scheduler cycle through the hook."""

    def collect_status(self) -> dict[str, Any]:
        """Every plugin's status sections, merged."""
