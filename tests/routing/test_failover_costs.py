"""Costs across a failover, both processors and both databases: requests the primary's spent
quota sent to Anthropic are charged at Anthropic's price, and ``costs``, its comparison over
``routing.providers`` and the snapshot split them by provider."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from plugins.cli.main import build_app
from plugins.common.monitoring.queries import MonitorReader
from plugins.common.monitoring.snapshot import build_snapshot
from plugins.common.schema.models import AIModel, AIModelPrice, AIProcessingRequest
from tests.routing.conftest import CLAUDE


def test_requests_sent_to_anthropic_after_a_failover_cost_anthropic_prices(
    make_routed: Any, db_url: str, tmp_path: Any, processor: str
) -> None:
    routed = make_routed(
        db_url, sessions=20, companies=2, openai_faults={"insufficient_quota": True}
    )
    routed.run()
    with routed.kernel.db.transaction() as session:
        rows = session.execute(
            select(AIProcessingRequest, AIModelPrice, AIModel.name, AIModel.provider)
            .join(AIModelPrice, AIModelPrice.id == AIProcessingRequest.price_id)
            .join(AIModel, AIModel.id == AIModelPrice.model_id)
        ).all()
    assert len(rows) == 20
    assert {(name, provider) for _, _, name, provider in rows} == {
        (f"anthropic/{CLAUDE}", "anthropic")
    }
    for answered, price, _, _ in rows:
        factor = (1 - price.batch_discount) / 1_000_000
        expected = (
            (answered.prompt_tokens - answered.cached_tokens) * price.input_per_million
            + answered.cached_tokens * price.cached_input_per_million
            + answered.completion_tokens * price.output_per_million
        ) * factor
        assert (price.input_per_million, price.output_per_million) == (1.0, 5.0)
        assert answered.total_cost_usd == pytest.approx(expected, rel=1e-9)
    total = sum(answered.total_cost_usd for answered, *_ in rows)

    settings = tmp_path / "routing.toml"
    settings.write_text('[default.routing]\nproviders = ["openai", "anthropic"]\n')
    url = str(routed.kernel.settings.database.url)
    result = CliRunner().invoke(
        build_app([]),
        ["costs", "--json", "--compare", "--database", url, "--settings", str(settings)],
    )
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert [(r["provider"], r["requests"]) for r in report["by_provider"]] == [("anthropic", 20)]
    comparison = report["compare"]
    assert comparison["chosen"] == "the providers of routing.providers"
    assert [row["provider"] for row in comparison["rows"]] == ["openai", "anthropic"]
    openai, anthropic = comparison["rows"]
    assert openai["models"] == {CLAUDE: "gpt-4o-mini"} and openai["spent_usd"] == 0
    assert anthropic["cost_usd"] == pytest.approx(total, rel=1e-6)
    assert openai["cost_usd"] < anthropic["cost_usd"]

    reader = MonitorReader.for_database(routed.kernel.db)
    try:
        snapshot = build_snapshot(reader, routed.kernel)
    finally:
        reader.dispose()
    by = {row["provider"]: row for row in snapshot["providers"]}
    assert (by["anthropic"]["requests_sent"], by["anthropic"]["completed"]) == (20, 20)
    assert by["anthropic"]["cost_usd"] == pytest.approx(total, rel=1e-9)
    spent = by.get("openai", {"requests_sent": 0, "cost_usd": 0.0, "batches": {}})
    assert spent["requests_sent"] == 0 and spent["cost_usd"] == 0
    assert set(spent["batches"]) <= {"ABANDONED"}
