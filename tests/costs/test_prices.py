"""Prices as dated versions: stored once, a new version only on change, the version in force at
completion recorded on each request, and costs = tokens x price x (1 - batch discount)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kernel.api import KernelAPI
from kernel.scheduler import Scheduler
from plugins.cli.main import build_app
from plugins.common.pricing import load_prices
from plugins.common.schema.models import AIBatchRequest, AIModel, AIModelPrice, AIProcessingRequest
from plugins.common.until_idle import run_until_idle
from tests.costs.conftest import load_tenants

app = build_app([])

V1 = {"input": 0.15, "cached_input": 0.075, "output": 0.60}
V2 = {"input": 0.30, "cached_input": 0.10, "output": 1.20}


def prices(kernel: KernelAPI) -> list[AIModelPrice]:
    """Every stored price version of gpt-4o-mini, oldest first."""
    with kernel.db.transaction() as session:
        return list(
            session.scalars(
                select(AIModelPrice)
                .join(AIModel, AIModel.id == AIModelPrice.model_id)
                .where(AIModel.name == "gpt-4o-mini")
                .order_by(AIModelPrice.id)
            )
        )


def test_prices_are_stored_once_and_versioned_on_change(make_kernel: Any, sqlite_url: str) -> None:
    first = make_kernel(sqlite_url)
    load_prices(first)
    load_prices(make_kernel(sqlite_url))
    assert len(prices(first)) == 1
    changed = make_kernel(sqlite_url, **{"prices.models.gpt-4o-mini.output": 0.9})
    book = load_prices(changed)
    versions = prices(first)
    assert [v.output_per_million for v in versions] == [0.6, 0.9]
    assert versions[0].effective_until is not None and versions[1].effective_until is None
    price = book.for_model("gpt-4o-mini")
    assert price is not None and price.id == versions[1].id


@pytest.mark.parametrize("processor", ["original", "optimized"])
def test_costs_follow_the_price_version_in_force(
    costs_kernel: Any, emulator: Any, db_url: str, tmp_path: Path, processor: str
) -> None:
    server = emulator()
    options = {"plugins__processor": processor, "batch__max_requests_per_batch": 7}
    old = costs_kernel(db_url, server, **options, **{"prices.models.gpt-4o-mini": V1})
    load_tenants(old, tmp_path, {"acme": 12, "beta": 5}, "first")
    assert run_until_idle(Scheduler(old, record=False), timeout=240).idle
    new = costs_kernel(
        db_url, server, **options, **{"prices.models.gpt-4o-mini": V2, "prices.batch_discount": 0.4}
    )
    load_tenants(new, tmp_path, {"acme": 4, "gamma": 6}, "second")
    assert run_until_idle(Scheduler(new, record=False), timeout=240).idle
    versions = {v.id: v for v in prices(new)}
    assert len(versions) == 2
    with new.db.transaction() as session:
        requests = list(session.scalars(select(AIProcessingRequest)))
        batches = list(session.scalars(select(AIBatchRequest)))
    used = {r.price_id for r in requests}
    assert used == set(versions)
    for r in requests:
        v = versions[r.price_id]
        factor = (1 - v.batch_discount) / 1_000_000
        prompt = (
            (r.prompt_tokens - r.cached_tokens) * v.input_per_million
            + r.cached_tokens * v.cached_input_per_million
        ) * factor
        assert r.prompt_cost_usd == pytest.approx(prompt, rel=1e-9)
        assert r.completion_cost_usd == pytest.approx(
            r.completion_tokens * v.output_per_million * factor, rel=1e-9
        )
        assert r.total_cost_usd > 0
    by_batch: dict[str, float] = {}
    for r in requests:
        by_batch[r.batch_id] = by_batch.get(r.batch_id, 0.0) + r.total_cost_usd
    for b in batches:
        assert b.actual_cost_usd == pytest.approx(by_batch[b.id], rel=1e-9)
        assert b.estimated_cost_usd > 0 and b.admitted_at is not None

    result = CliRunner().invoke(app, ["costs", "--json", "--database", db_url])
    assert result.exit_code == 0, result.output
    import orjson

    report = orjson.loads(result.stdout)
    total = sum(r.total_cost_usd for r in requests)
    assert report["totals"]["cost_usd"] == pytest.approx(total, rel=1e-9)
    assert report["totals"]["requests"] == len(requests)
    assert report["totals"]["actual_cost_usd"] == pytest.approx(total, rel=1e-9)
    listed = sum(
        r.prompt_tokens * versions[r.price_id].input_per_million / 1e6
        + r.completion_tokens * versions[r.price_id].output_per_million / 1e6
        for r in requests
    )
    assert report["totals"]["savings_usd"] == pytest.approx(listed - total, rel=1e-9)
    assert {row["company_id"] for row in report["by_company"]} == {"acme", "beta", "gamma"}
    csv_out = CliRunner().invoke(app, ["costs", "--csv", "--company", "acme", "--database", db_url])
    assert csv_out.exit_code == 0 and csv_out.stdout.startswith("company_id,provider,model,")
    assert all(line.startswith("acme,") for line in csv_out.stdout.splitlines()[1:])
