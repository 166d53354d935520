"""Budgets: a batch that would cross one is not submitted, exactly at the limit, also with two
instances admitting at the same moment; held work waits visibly and goes on when allowed."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.scheduler import Scheduler
from plugins.budget import admission
from plugins.common.monitoring.queries import MonitorReader
from plugins.common.monitoring.snapshot import build_snapshot
from plugins.common.pricing import PriceBook
from plugins.common.schema.models import AIBatchRequest, AIProcessingRequest
from plugins.common.timeutil import utcnow
from tests.costs.conftest import line_tokens, load_tenants

PER_BATCH = 5
SESSIONS = 40


class Metrics:
    """A test exporter that keeps every metric."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    @hookimpl
    def record_metric(self, kernel: KernelAPI, metric: Any) -> None:
        self.seen.append(metric)


def batch_cost(kernel: KernelAPI) -> float:
    """The estimate of one full batch, as admission computes it (no history yet)."""
    price = PriceBook.from_settings(kernel.settings).for_model("gpt-4o-mini")
    assert price is not None
    output = PER_BATCH * int(kernel.settings.estimates.output_tokens_per_request)
    return sum(price.cost(PER_BATCH * line_tokens(kernel), output))


def admitted(kernel: KernelAPI) -> list[AIBatchRequest]:
    """Batches admitted so far."""
    with kernel.db.transaction() as session:
        return list(
            session.scalars(select(AIBatchRequest).where(AIBatchRequest.admitted_at.is_not(None)))
        )


def admit_together(kernels: list[Any], claimed: list[list[Any]]) -> list[list[Any]]:
    """Admit each kernel's claimed plans at the same moment; refused ones go back to the queue."""
    barrier = threading.Barrier(len(kernels))
    results: list[Any] = [None] * len(kernels)

    def run(index: int) -> None:
        scheduler = Scheduler(kernels[index], record=False)
        barrier.wait()
        results[index] = scheduler._admit(claimed[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(kernels))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(r is not None for r in results), results
    return results


def create_together(kernels: list[Any]) -> list[dict[str, float]]:
    """One create step on each kernel, all starting at the same moment in their own threads."""
    barrier = threading.Barrier(len(kernels))
    results: list[Any] = [None] * len(kernels)

    def run(index: int) -> None:
        scheduler = Scheduler(kernels[index], record=False)
        barrier.wait()
        results[index] = scheduler.create_step()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(kernels))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(r is not None for r in results), results
    return results


@pytest.mark.parametrize("budget", ["company_daily_usd", "monthly_usd"])
def test_two_instances_stop_exactly_at_the_budget(
    costs_kernel: Any,
    emulator: Any,
    db_url: str,
    tmp_path: Path,
    budget: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_usage = admission.batch_usage

    def slow_usage(*args: Any, **kwargs: Any) -> Any:
        """Read what is committed, then linger: without the lock both instances would admit."""
        found = real_usage(*args, **kwargs)
        time.sleep(0.3)
        return found

    monkeypatch.setattr(admission, "batch_usage", slow_usage)
    server = emulator(in_progress_seconds=60)
    base = {
        "batch__max_requests_per_batch": PER_BATCH,
        "batch__max_batches_per_cycle": 4,
        "plugins__processor": "optimized",
    }
    probe = costs_kernel(db_url, server, **base)
    cost = batch_cost(probe)
    limit = cost + cost + cost
    metrics = Metrics()
    settings = base | {f"budgets__{budget}": limit, "budgets__warn_fraction": 0.5}
    kernels = [
        costs_kernel(db_url, server, extra=[("metrics", metrics)], **settings) for _ in range(2)
    ]
    load_tenants(kernels[0], tmp_path, {"acme": SESSIONS})

    claimed = [k.fetch_pending(k.select_companies(k.get_companies())) for k in kernels]
    assert [len(plans) for plans in claimed] == [4, 4]
    went_through = admit_together(kernels, claimed)
    assert sum(len(plans) for plans in went_through) == 3
    for kernel, plans in zip(kernels, went_through, strict=True):
        if plans:
            kernel.record_submitted([(plan, kernel.submit_batch(plan)) for plan in plans])
    went = admitted(probe)
    assert len(went) == 3 and len(server.ledger()["batches"]) == 3
    assert sum(b.estimated_cost_usd for b in went) == pytest.approx(limit, rel=1e-12)
    assert all(b.estimated_cost_usd == pytest.approx(cost, rel=1e-12) for b in went)
    warnings = [m for m in metrics.seen if m.name == "batchkernel.budget.warning"]
    assert len(warnings) == 1

    again = create_together(kernels)
    assert sum(c["plans"] for c in again) == 0, "an exhausted budget must not claim work"
    assert len(admitted(probe)) == 3
    with probe.db.transaction() as session:
        statuses = list(session.scalars(select(AIProcessingRequest.status)))
    assert statuses.count("PENDING_BATCHING") == SESSIONS - 3 * PER_BATCH
    reader = MonitorReader.for_database(probe.db)
    try:
        section = build_snapshot(reader, kernels[0])["budgets"]
    finally:
        reader.dispose()
    assert [row["state"] for row in section["budgets"]] == ["exhausted"]
    assert section["holds"][0]["scope"] == "company:acme"
    assert "budget" in section["holds"][0]["reason"]

    raised = costs_kernel(db_url, server, **(settings | {f"budgets__{budget}": limit + 2 * cost}))
    assert Scheduler(raised, record=False).create_step()["submitted"] == 2
    assert len(admitted(probe)) == 5

    with probe.db.transaction() as session:
        session.execute(
            update(AIBatchRequest)
            .where(AIBatchRequest.admitted_at.is_not(None))
            .values(admitted_at=utcnow() - timedelta(days=32))
        )
    assert Scheduler(raised, record=False).create_step()["submitted"] == 3
    assert len(admitted(probe)) == SESSIONS // PER_BATCH
