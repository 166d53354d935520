"""The ``optimized`` processor's hooks: one statement (or one page) for all companies at a time.

Hooks it has nothing better for (``get_companies``, ``abandon_plan``, ``fetch_stale_plans``)
return ``None`` implicitly by not being implemented, so the original answers them. With
``processing.enable_batch_operations = false`` every step runs per company instead (same SQL,
one company at a time); with ``processing.enable_parallel_processing = false`` the scheduler
works on one company at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import select

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.types import (
    ApplySummary,
    BatchPlan,
    Company,
    LocalBatch,
    ProviderBatch,
    ResultFiles,
    RetrySummary,
    SubmittedBatch,
)
from plugins.common import batchrows
from plugins.common.hookspecs import Probe
from plugins.common.retrying import retry_companies
from plugins.common.routes import by_route
from plugins.common.schema.models import AIBatchRequest
from plugins.common.schema.rows import to_local_batch as to_local
from plugins.common.schema.statuses import ENDED_BATCH_STATUSES, IN_FLIGHT_BATCH_STATUSES
from plugins.optimized import claim
from plugins.optimized.apply import ResultApplier

T = TypeVar("T")


def company_groups(kernel: KernelAPI, companies: Sequence[Company]) -> list[list[str]]:
    """All companies in one group, or one group per company when batch operations are off."""
    ids = [company.id for company in companies]
    if kernel.settings.processing.enable_batch_operations:
        return [ids] if ids else []
    return [[company_id] for company_id in ids]


def per_group(
    kernel: KernelAPI, companies: Sequence[Company], work: Callable[[list[str]], list[T]]
) -> list[T]:
    """Run ``work`` for each company group and concatenate the results."""
    out: list[T] = []
    for group in company_groups(kernel, companies):
        out += work(group)
    return out


class OptimizedProcessor:
    """Processor plugin ``optimized`` (unmarked impls: answers before the ``trylast`` original)."""

    @hookimpl
    def benchmark_probes(self, kernel: KernelAPI, stage: str) -> list[Probe]:
        """The claim inside ``fetch_pending``: each page's lock, plan, batch insert and claim."""
        return [Probe(claim, "claim_page")] if stage == "claim" else []

    @hookimpl
    def company_concurrency(self, kernel: KernelAPI) -> int:
        """``processing.max_concurrent_companies``, or 1 when parallel processing is off."""
        processing = kernel.settings.processing
        if not processing.enable_parallel_processing:
            return 1
        return int(processing.max_concurrent_companies)

    @hookimpl
    def fetch_pending(
        self, kernel: KernelAPI, companies: Sequence[Company], flush: bool
    ) -> list[BatchPlan]:
        """Claim pending work of all companies in pages, the companies routed to one provider
        together; write the files from one stream a page."""
        quotas = {c.id: c.max_batches for c in companies if c.max_batches > 0}
        plans: list[BatchPlan] = []
        for provider, routed in by_route(kernel, companies).items():
            claim_for = partial(
                claim.fetch_pending, kernel, quotas=quotas, flush=flush, provider=provider
            )
            plans += per_group(kernel, routed, claim_for)
        return plans

    @hookimpl
    def record_submitted(
        self, kernel: KernelAPI, submissions: Sequence[tuple[BatchPlan, SubmittedBatch]]
    ) -> list[str]:
        """One ``UPDATE ... FROM`` for every accepted plan, conditional on PLANNED."""
        return batchrows.record_submitted(kernel, submissions)

    def _batches(
        self, kernel: KernelAPI, companies: Sequence[Company], where: Any
    ) -> list[LocalBatch]:
        """Local batches of these companies matching ``where``, one query per company group."""

        def query(ids: list[str]) -> list[LocalBatch]:
            with kernel.db.transaction() as session:
                rows = session.scalars(
                    select(AIBatchRequest).where(AIBatchRequest.company_id.in_(ids), where)
                ).all()
                return [to_local(row) for row in rows]

        return per_group(kernel, companies, query)

    @hookimpl
    def fetch_inflight(self, kernel: KernelAPI, companies: Sequence[Company]) -> list[LocalBatch]:
        """Every running batch of every company in one query."""
        statuses = [s.value for s in IN_FLIGHT_BATCH_STATUSES]
        return self._batches(kernel, companies, AIBatchRequest.status.in_(statuses))

    @hookimpl
    def fetch_finished(self, kernel: KernelAPI, companies: Sequence[Company]) -> list[LocalBatch]:
        """Every ended, unapplied batch of every company in one query."""
        statuses = [s.value for s in ENDED_BATCH_STATUSES]
        return self._batches(
            kernel,
            companies,
            AIBatchRequest.status.in_(statuses) & AIBatchRequest.applied_at.is_(None),
        )

    @hookimpl
    def record_batch_statuses(
        self, kernel: KernelAPI, updates: Sequence[tuple[LocalBatch, ProviderBatch]]
    ) -> int:
        """Every polled status in one ``UPDATE ... FROM``, each conditional on the polled status."""
        return batchrows.record_statuses(kernel, updates)

    @hookimpl
    def apply_results(
        self, kernel: KernelAPI, results: Sequence[tuple[LocalBatch, ResultFiles]]
    ) -> ApplySummary:
        """Stage every line of every batch in chunks; two statements a chunk."""
        return ResultApplier(kernel).apply(results)

    @hookimpl
    def retry_failed(self, kernel: KernelAPI, companies: Sequence[Company]) -> RetrySummary:
        """Two statements for all companies: close exhausted requests, re-queue stranded ones."""
        max_attempts = int(kernel.settings.batch.max_attempts)

        def work(ids: list[str]) -> list[RetrySummary]:
            with kernel.db.transaction() as session:
                return [retry_companies(session, ids, max_attempts)]

        parts = per_group(kernel, companies, work)
        return RetrySummary(
            requeued=sum(p.requeued for p in parts), failed=sum(p.failed for p in parts)
        )
