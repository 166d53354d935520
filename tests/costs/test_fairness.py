"""Fair scheduling: a huge backlog never delays a small tenant's first batch by a cycle, slots
rotate across cycles, in-flight batches per company are capped, and the provider's enqueued-token
limit holds over all companies together."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kernel.api import KernelAPI
from kernel.scheduler import Scheduler
from plugins.common.schema.models import AIBatchRequest, AIProcessingRequest
from plugins.common.until_idle import run_until_idle
from tests.costs.conftest import line_tokens, load_tenants

SMALL = {f"small-{i:02d}": 5 for i in range(10)}


def submitted_by_company(kernel: KernelAPI) -> Counter[str]:
    """Batches that reached the provider, per company."""
    with kernel.db.transaction() as session:
        rows = session.scalars(
            select(AIBatchRequest.company_id).where(AIBatchRequest.provider_batch_id.is_not(None))
        )
        return Counter(rows)


def first_cycle(costs_kernel: Any, server: Any, url: str, tmp_path: Path, processor: str) -> Any:
    """One create cycle over a tenant with 50 batches of work and ten 5-request tenants; batches
    served."""
    kernel = costs_kernel(
        url,
        server,
        plugins__processor=processor,
        batch__max_batches_per_cycle=20,
        batch__max_requests_per_batch=100,
    )
    load_tenants(kernel, tmp_path, {"huge": 5_000} | SMALL)
    counts = Scheduler(kernel, record=False).create_step()
    served = submitted_by_company(kernel)
    assert all(served[company] == 1 for company in SMALL), served
    assert counts["submitted"] == sum(served.values()) <= 20
    return served


def test_small_tenants_are_all_submitted_in_the_first_cycle(
    costs_kernel: Any, emulator: Any, db_url: str, tmp_path: Path
) -> None:
    served = first_cycle(
        costs_kernel, emulator(in_progress_seconds=60), db_url, tmp_path, "optimized"
    )
    assert served["huge"] == 10, "the slots the small tenants leave go to the big one"


def test_small_tenants_first_cycle_with_the_original_processor(
    costs_kernel: Any, emulator: Any, sqlite_url: str, tmp_path: Path
) -> None:
    server = emulator(in_progress_seconds=60)
    served = first_cycle(costs_kernel, server, sqlite_url, tmp_path, "original")
    assert served["huge"] == 1, "the original processor plans one batch a company a cycle"


def test_slots_rotate_across_cycles_when_there_are_fewer_than_companies(
    costs_kernel: Any, emulator: Any, sqlite_url: str, tmp_path: Path
) -> None:
    server = emulator(in_progress_seconds=60)
    kernel = costs_kernel(
        sqlite_url, server, batch__max_batches_per_cycle=3, batch__max_requests_per_batch=5
    )
    load_tenants(kernel, tmp_path, {f"c{i}": 10 for i in range(6)})
    scheduler = Scheduler(kernel, record=False)
    rounds = []
    for _ in range(4):
        before = submitted_by_company(kernel)
        scheduler.create_step()
        rounds.append(set((submitted_by_company(kernel) - before).elements()))
    assert rounds[0] == {"c0", "c1", "c2"}
    assert rounds[1] == {"c3", "c4", "c5"}
    assert rounds[2] == {"c0", "c1", "c2"}
    assert rounds[3] == {"c3", "c4", "c5"}


def test_weights_share_the_remaining_slots(
    costs_kernel: Any, emulator: Any, sqlite_url: str, tmp_path: Path
) -> None:
    server = emulator(in_progress_seconds=60)
    kernel = costs_kernel(
        sqlite_url,
        server,
        batch__max_batches_per_cycle=8,
        batch__max_requests_per_batch=5,
        batch__company_weights={"gold": 3.0},
    )
    load_tenants(kernel, tmp_path, {"gold": 50, "plain": 50})
    Scheduler(kernel, record=False).create_step()
    assert submitted_by_company(kernel) == Counter({"gold": 6, "plain": 2})


def test_batches_in_flight_per_company_are_capped(
    costs_kernel: Any, emulator: Any, db_url: str, tmp_path: Path
) -> None:
    server = emulator(in_progress_seconds=60)
    kernel = costs_kernel(
        db_url, server, batch__max_inflight_per_company=2, batch__max_requests_per_batch=5
    )
    load_tenants(kernel, tmp_path, {"busy": 40, "calm": 5})
    scheduler = Scheduler(kernel, record=False)
    scheduler.create_step()
    scheduler.create_step()
    assert submitted_by_company(kernel) == Counter({"busy": 2, "calm": 1})


@pytest.mark.parametrize("processor", ["optimized", "original"])
def test_enqueued_token_limit_is_never_exceeded(
    costs_kernel: Any, emulator: Any, db_url: str, tmp_path: Path, processor: str
) -> None:
    limit = 12 * line_tokens()
    server = emulator(in_progress_seconds=0.3, enqueued_token_limits={"gpt-4o-mini": limit})
    kernel = costs_kernel(
        db_url,
        server,
        plugins__processor=processor,
        batch__max_requests_per_batch=5,
        batch__enqueued_token_limits={"gpt-4o-mini": limit},
    )
    load_tenants(kernel, tmp_path, {"a": 30, "b": 12, "c": 7})
    outcome = run_until_idle(Scheduler(kernel, record=False), timeout=120)
    assert outcome.idle, outcome.reason
    batches = server.ledger()["batches"]
    assert [b for b in batches if b["status"] == "failed"] == []
    with kernel.db.transaction() as session:
        statuses = Counter(session.scalars(select(AIProcessingRequest.status)))
        planned = list(session.scalars(select(AIBatchRequest.estimated_input_tokens)))
    assert statuses == Counter({"PROCESSING_COMPLETE": 49})
    assert max(planned) <= limit
    assert len(batches) >= 49 * line_tokens() / limit, "several rounds were needed"
