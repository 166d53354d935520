"""Costs per provider on every provider plugin, through its real SDK against its emulator, on
SQLite and PostgreSQL: each request charged at its provider's price for its model, ``costs``
split by provider with the comparison, and ``status``/``serve`` counting per provider."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kernel.scheduler import Scheduler
from plugins.cli.main import build_app
from plugins.common.importing.importer import import_file
from plugins.common.monitoring.queries import MonitorReader
from plugins.common.monitoring.snapshot import build_snapshot
from plugins.common.schema.models import AIModel, AIModelPrice, AIProcessingRequest
from plugins.common.settings_spec import stored_model_name
from plugins.common.synthetic import sessions, write_jsonl
from plugins.common.until_idle import run_until_idle
from plugins.serve.formats import snapshot_prometheus
from tests.providers.cases import CASES
from tests.providers.checks import COMPLETE, assert_settled

MODELS = {"anthropic": "claude-haiku-4-5", "gemini": "gemini-2.5-flash"}
"""The model each provider is run with (a model its own price table lists)."""
DISCOUNT = 0.3
"""The provider's own batch discount in these runs (every other provider keeps 0.5)."""


def test_requests_are_charged_at_their_provider_price(make_contract: Any, db_url: str) -> None:
    contract = make_contract(db_url, sessions=12, companies=2)
    case = contract.case
    model = MODELS.get(case.name, "gpt-4o-mini")
    assert str(contract.kernel.settings.model.name) == model
    contract.run()
    assert assert_settled(contract) == Counter({COMPLETE: 12})
    requests = contract.requests()
    with contract.kernel.db.transaction() as session:
        rows = {
            price.id: (price, name, provider)
            for price, name, provider in session.execute(
                select(AIModelPrice, AIModel.name, AIModel.provider).join(
                    AIModel, AIModel.id == AIModelPrice.model_id
                )
            ).all()
        }
    for request in requests:
        assert request.provider == case.name and request.model == model
        price, stored, provider = rows[request.price_id]
        assert (stored, provider) == (stored_model_name(case.name, model), case.name)
        assert price.batch_discount == DISCOUNT
        factor = (1 - DISCOUNT) / 1_000_000
        expected = (
            (request.prompt_tokens - request.cached_tokens) * price.input_per_million
            + request.cached_tokens * price.cached_input_per_million
            + request.completion_tokens * price.output_per_million
        ) * factor
        assert request.total_cost_usd == pytest.approx(expected, rel=1e-9)
        assert request.total_cost_usd > 0
    total = sum(r.total_cost_usd for r in requests)

    url = str(contract.kernel.settings.database.url)
    result = CliRunner().invoke(build_app([]), ["costs", "--json", "--compare", "--database", url])
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert [(r["provider"], r["requests"]) for r in report["by_provider"]] == [(case.name, 12)]
    assert report["by_provider"][0]["cost_usd"] == pytest.approx(total, rel=1e-9)
    comparison = report["compare"]
    assert comparison["spent"] == [{"provider": case.name, "cost_usd": pytest.approx(total)}]
    by = {row["provider"]: row for row in comparison["rows"]}
    assert {"openai", "azure-openai", "anthropic", "gemini"} <= set(by)
    assert by["anthropic"]["models"] == {model: "claude-haiku-4-5"}
    assert by["gemini"]["models"] == {model: "gemini-2.5-flash"}
    assert all(row["cost_usd"] > 0 and not row["unpriced_tokens"] for row in by.values())
    text = CliRunner().invoke(build_app([]), ["costs", "--compare", "--database", url])
    assert text.exit_code == 0, text.output
    assert f"spent at {case.name} $" in text.stdout and "the same tokens at " in text.stdout
    assert "tokenizers count the same text differently" in text.stdout.replace("\n", " ")

    reader = MonitorReader.for_database(contract.kernel.db)
    try:
        snapshot = build_snapshot(reader, contract.kernel)
    finally:
        reader.dispose()
    (row,) = snapshot["providers"]
    figures = ("provider", "requests_sent", "completed", "failed", "requests_in_flight")
    assert tuple(row[key] for key in figures) == (case.name, 12, 12, 0, 0)
    assert row["batches"] == {"APPLIED": len(contract.batches())}
    assert row["cost_usd"] == pytest.approx(total, rel=1e-9)
    metrics = snapshot_prometheus(snapshot).decode()
    assert f'batchkernel_provider_requests{{provider="{case.name}",state="completed"}} 12.0' in (
        metrics
    )
    assert f'batchkernel_provider_batches{{provider="{case.name}",state="APPLIED"}}' in metrics


def test_spend_splits_by_provider_on_one_database(
    make_kernel: Any, db_url: str, tmp_path: Path
) -> None:
    """Requests answered by OpenAI and by Anthropic in one database: each charged at its own
    provider's price, and costs, the comparison and the snapshot split them."""
    totals: dict[str, float] = {}
    for name in ("openai", "anthropic"):
        case = next(c for c in CASES if c.name == name)
        server = case.emulator({})
        try:
            kernel = make_kernel(
                db_url,
                **case.kernel_settings(server),
                model__name=MODELS.get(name, "gpt-4o-mini"),
                batch__max_requests_per_batch=10,
                batch__min_batch_size=1,
            )
            source = tmp_path / f"{name}.jsonl"
            with source.open("wb") as handle:
                for record in sessions(2, 10, seed=len(name)):
                    record["session_id"] = f"{name}-{record['session_id']}"
                    handle.write(orjson.dumps(record) + b"\n")
            assert import_file(kernel, source).requests_created == 10
            assert run_until_idle(Scheduler(kernel), timeout=120).idle
        finally:
            server.stop()
        with kernel.db.transaction() as session:
            rows = session.execute(
                select(AIProcessingRequest, AIModelPrice)
                .join(AIModelPrice, AIModelPrice.id == AIProcessingRequest.price_id)
                .where(AIProcessingRequest.provider == name)
            ).all()
        assert len(rows) == 10
        listed = (1.0, 5.0) if name == "anthropic" else (0.15, 0.60)
        assert {(p.input_per_million, p.output_per_million) for _, p in rows} == {listed}
        totals[name] = sum(request.total_cost_usd for request, _ in rows)

    result = CliRunner().invoke(
        build_app([]), ["costs", "--json", "--compare", "--database", db_url]
    )
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    by = {row["provider"]: row for row in report["by_provider"]}
    assert {name: row["requests"] for name, row in by.items()} == {"anthropic": 10, "openai": 10}
    for name, total in totals.items():
        assert by[name]["cost_usd"] == pytest.approx(total, rel=1e-9)
    spent = {row["provider"]: row["cost_usd"] for row in report["compare"]["spent"]}
    assert spent == pytest.approx(totals)
    compared = {row["provider"]: row for row in report["compare"]["rows"]}
    assert compared["openai"]["models"] == {
        "claude-haiku-4-5": "gpt-4o-mini",
        "gpt-4o-mini": "gpt-4o-mini",
    }
    csv = CliRunner().invoke(build_app([]), ["costs", "--csv", "--database", db_url])
    assert {line.split(",")[1] for line in csv.stdout.splitlines()[1:]} == {"anthropic", "openai"}

    kernel = make_kernel(db_url)
    reader = MonitorReader.for_database(kernel.db)
    try:
        snapshot = build_snapshot(reader, kernel)
    finally:
        reader.dispose()
    assert [(r["provider"], r["completed"]) for r in snapshot["providers"]] == [
        ("anthropic", 10),
        ("openai", 10),
    ]
    assert snapshot["usage"]["cost_usd"] == pytest.approx(sum(totals.values()), rel=1e-9)
    for row in snapshot["providers"]:
        assert row["cost_usd"] == pytest.approx(totals[row["provider"]], rel=1e-9)


@pytest.mark.parametrize("name", ["anthropic", "gemini"])
def test_a_foreign_model_is_charged_as_the_model_the_provider_sent(
    make_kernel: Any, db_url: str, tmp_path: Path, name: str
) -> None:
    """``model.name`` left at OpenAI's default: the provider answers with its own configured
    model, recorded on the request, and the request is charged at that model's price there."""
    case = next(c for c in CASES if c.name == name)
    server = case.emulator({})
    try:
        kernel = make_kernel(db_url, **case.kernel_settings(server), batch__min_batch_size=1)
        source = write_jsonl(tmp_path / "s.jsonl", 2, 6, seed=5)
        assert import_file(kernel, source).requests_created == 6
        assert run_until_idle(Scheduler(kernel), timeout=120).idle
    finally:
        server.stop()
    with kernel.db.transaction() as session:
        rows = session.execute(
            select(AIProcessingRequest.model, AIModel.name)
            .join(AIModelPrice, AIModelPrice.id == AIProcessingRequest.price_id)
            .join(AIModel, AIModel.id == AIModelPrice.model_id)
        ).all()
    sent = MODELS[name]
    assert len(rows) == 6 and set(rows) == {(sent, stored_model_name(name, sent))}


@pytest.fixture
def make_contract(make_contract: Any, case: Any) -> Any:
    """The contract factory with the provider's own model and batch discount."""

    def factory(db_url: str, **settings: Any) -> Any:
        model = MODELS.get(case.name, "gpt-4o-mini")
        options = {
            "model__name": model,
            f"prices.providers.{case.name}.batch_discount": DISCOUNT,
        }
        return make_contract(db_url, **options, **settings)

    return factory
