"""Admission writes its stamps and holds set-based: the statements of one admission do not grow
with the number of plans or of held companies, and a stamp only lands on a batch still PLANNED."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from plugins.common.schema.models import AIBatchRequest, BudgetHold
from tests.costs.conftest import load_tenants
from tests.processors.support import other_database


def admit_all(
    costs_kernel: Any, emulator: Any, url: str, tmp_path: Path, companies: int
) -> dict[str, Any]:
    """Claim one batch for each of ``companies`` companies (every other one over its tiny daily
    budget) and admit them all in one call; what admission did and its statements."""
    names = [f"tenant-{i:04d}" for i in range(companies)]
    over = {name: {"daily_usd": 1e-9} for name in names[::2]}
    kernel = costs_kernel(url, emulator(), budgets__companies=over)
    tmp_path.mkdir(parents=True, exist_ok=True)
    load_tenants(kernel, tmp_path, dict.fromkeys(names, 2), name=f"t{companies}")
    plans = kernel.fetch_pending(kernel.get_companies())
    assert len(plans) == companies
    settled = next(plan for plan in plans if plan.company_id not in over)
    assert kernel.abandon_plan(settled, "settled before admission")
    with kernel.db.queries.measure() as measured:
        decisions = kernel.admit_batches(plans)
    with kernel.db.transaction() as session:
        stamped = set(
            session.scalars(
                select(AIBatchRequest.id).where(AIBatchRequest.admitted_at.is_not(None))
            )
        )
        holds = set(session.scalars(select(BudgetHold.scope)))
    admitted = {plan.batch_id for plan, ok, _ in decisions if ok}
    return {
        "statements": measured["statements"],
        "admitted": admitted,
        "stamped": stamped,
        "holds": holds,
        "held": {f"company:{name}" for name in over},
        "settled": settled.batch_id,
    }


def test_admission_statements_do_not_grow_with_plans_or_holds(
    costs_kernel: Any, emulator: Any, db_url: str, tmp_path: Path, request: Any
) -> None:
    few = admit_all(costs_kernel, emulator, db_url, tmp_path / "few", 4)
    other = other_database(db_url, tmp_path, request)
    many = admit_all(costs_kernel, emulator, other, tmp_path / "many", 60)
    for run, companies in ((few, 4), (many, 60)):
        assert len(run["admitted"]) == companies // 2
        assert run["holds"] == run["held"]
        assert run["stamped"] == run["admitted"] - {run["settled"]}
    assert few["statements"] == many["statements"]
