"""Prices per provider and model: each provider's table and batch discount, the earlier
``prices.models`` kept, actionable validation, one stored row per provider and model, and the
comparison of the same tokens across providers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kernel.settings import load_settings
from kernel.types import BatchPlan, ConfigError
from plugins.budget.compare import compare
from plugins.budget.estimate import Estimator
from plugins.common.pricing import PriceBook, load_prices
from plugins.common.schema.models import AIModel, AIModelPrice


def book(**overrides: Any) -> PriceBook:
    """The price book of the shipped settings with ``overrides``."""
    return PriceBook.from_settings(load_settings(overrides))


def test_each_provider_prices_its_own_models_with_its_batch_discount() -> None:
    prices = book(**{"prices.providers.gemini.batch_discount": 0.4})
    haiku = prices.for_model("claude-haiku-4-5", "anthropic")
    assert haiku is not None and (haiku.input, haiku.output, haiku.batch_discount) == (1, 5, 0.5)
    assert haiku.cost(1_000_000, 1_000_000) == pytest.approx((0.5, 2.5))
    assert prices.for_model("claude-haiku-4-5", "openai") is None
    assert prices.for_model("claude-3-opus", "anthropic") is None
    flash = prices.for_model("gemini-2.5-flash", "gemini")
    assert flash is not None and flash.batch_discount == 0.4
    snapshot = prices.for_model("gpt-4o-2024-08-06", "azure-openai")
    assert snapshot is not None and snapshot.input == 2.5
    assert prices.priced("azure-openai", "gpt-4o-2024-08-06") == "gpt-4o"
    assert {"openai", "azure-openai", "anthropic", "gemini"} <= set(prices.tables)


def test_a_model_named_without_provider_is_looked_up_primary_first() -> None:
    prices = book(
        **{
            "plugins.provider": "azure-openai",
            "prices.providers.azure-openai.models.gpt-4o-mini.input": 0.2,
        }
    )
    assert prices.order[0] == "azure-openai"
    found = prices.for_model("gpt-4o-mini")
    assert found is not None and found.input == 0.2
    openai = prices.for_model("gpt-4o-mini", "openai")
    assert openai is not None and openai.input == 0.15
    claude = prices.for_model("claude-opus-4-5")
    assert claude is not None and claude.output == 25


def test_another_provider_model_is_charged_as_the_model_the_provider_sends() -> None:
    prices = book(**{"gemini.model": "gemini-2.5-pro"})
    assert prices.substitutes == {"anthropic": "claude-haiku-4-5", "gemini": "gemini-2.5-pro"}
    at_anthropic = prices.for_model("gpt-4o-mini", "anthropic")
    assert at_anthropic is not None and (at_anthropic.input, at_anthropic.output) == (1, 5)
    assert prices.answering_model("gemini", "gpt-4o-mini") == "gemini-2.5-pro"
    assert prices.answering_model("gemini", "gemini-2.5-flash-001") == "gemini-2.5-flash"
    assert prices.answering_model("anthropic", "claude-3-opus") is None
    assert prices.answering_model("openai", "claude-haiku-4-5") is None
    on_anthropic = book(**{"plugins.provider": "anthropic"})
    charged = on_anthropic.for_model("gpt-4o-mini")
    assert charged is not None and charged.output == 5


def test_the_earlier_prices_models_table_still_applies() -> None:
    prices = book(
        **{
            "prices.models.gpt-4o-mini.output": 0.9,
            "prices.models.house-model": {"input": 1.0, "output": 2.0, "batch_discount": 0.25},
        }
    )
    for provider in ("openai", "azure-openai"):
        price = prices.for_model("gpt-4o-mini", provider)
        assert price is not None and (price.input, price.output) == (0.15, 0.9)
    house = prices.for_model("house-model", "openai")
    assert house is not None and house.batch_discount == 0.25
    assert prices.answering_model("anthropic", "house-model") == "claude-haiku-4-5"
    on_anthropic = book(
        **{"plugins.provider": "anthropic", "prices.models.house-model": {"input": 1, "output": 2}}
    )
    assert on_anthropic.for_model("house-model", "anthropic") is not None
    assert on_anthropic.for_model("house-model", "openai") is None


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"prices.providers.anthropic.models.claude-x": {"input": 1.0}},
            "prices.providers.anthropic.models.claude-x gives no output: give both input and "
            "output",
        ),
        (
            {"prices.providers.gemini.models.gemini-x": {"input": 1, "output": -1}},
            "prices.providers.gemini.models.gemini-x.output must be a number of at least 0",
        ),
        (
            {"prices.providers.gemini.models.gemini-x": {"input": 1, "output": 1, "outptu": 1}},
            "prices.providers.gemini.models.gemini-x.outptu is not a price; use input, "
            "cached_input, output, batch_discount",
        ),
        (
            {"prices.providers.anthropic.batch_discount": 1.0},
            "prices.providers.anthropic.batch_discount must be a number of at least 0 and below 1",
        ),
        (
            {"prices.providers.anthropic.discount": 0.5},
            "prices.providers.anthropic.discount is not a provider price setting; use "
            "batch_discount or models",
        ),
        (
            {"prices.models.unknown-model.output": 1.0},
            "prices.models.unknown-model gives no input: give both input and output",
        ),
        ({"prices.providers.mistral": 3}, "prices.providers.mistral must be a table"),
    ],
)
def test_invalid_prices_name_the_key_and_the_fix(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(overrides)
    assert expected in str(info.value)


def stored(kernel: Any) -> dict[str, tuple[str, list[AIModelPrice]]]:
    """Every stored model: its provider and price versions, oldest first."""
    with kernel.db.transaction() as session:
        models = {m.id: (m.name, m.provider) for m in session.scalars(select(AIModel))}
        out: dict[str, tuple[str, list[AIModelPrice]]] = {
            name: (provider, []) for name, provider in models.values()
        }
        for price in session.scalars(select(AIModelPrice).order_by(AIModelPrice.id)):
            out[models[price.model_id][0]][1].append(price)
        return out


def test_one_stored_row_per_provider_and_model_versioned_apart(
    make_kernel: Any, db_url: str
) -> None:
    first = load_prices(make_kernel(db_url))
    rows = stored(make_kernel(db_url))
    assert rows["gpt-4o-mini"][0] == "openai"
    assert rows["azure-openai/gpt-4o-mini"][0] == "azure-openai"
    assert rows["anthropic/claude-haiku-4-5"][0] == "anthropic"
    assert rows["gemini/gemini-2.5-flash"][0] == "gemini"
    assert all(len(versions) == 1 for _, versions in rows.values())
    haiku = first.for_model("claude-haiku-4-5", "anthropic")
    assert haiku is not None and haiku.id == rows["anthropic/claude-haiku-4-5"][1][0].id
    changed = make_kernel(db_url, **{"prices.providers.azure-openai.models.gpt-4o-mini.input": 0.2})
    book2 = load_prices(changed)
    after = stored(changed)
    azure = after["azure-openai/gpt-4o-mini"][1]
    assert [v.input_per_million for v in azure] == [0.15, 0.2]
    assert azure[0].effective_until is not None and azure[1].effective_until is None
    assert len(after["gpt-4o-mini"][1]) == 1 and after["gpt-4o-mini"][1][0].effective_until is None
    price = book2.for_model("gpt-4o-mini", "azure-openai")
    assert price is not None and price.id == azure[1].id
    same = book2.for_model("gpt-4o-mini", "openai")
    assert same is not None and same.id == after["gpt-4o-mini"][1][0].id


def report(rows: list[tuple[str, str, int, int, int, float]]) -> dict[str, Any]:
    """A cost report's rows: (provider, model, input, cached, output, cost)."""
    return {
        "rows": [
            {
                "provider": provider,
                "model": model,
                "input_tokens": inp,
                "cached_tokens": cached,
                "output_tokens": out,
                "cost_usd": cost,
            }
            for provider, model, inp, cached, out, cost in rows
        ]
    }


def test_compare_prices_the_same_tokens_at_each_provider() -> None:
    settings = load_settings()
    prices = PriceBook.from_settings(settings)
    spent = report(
        [
            ("openai", "gpt-4o-mini", 2_000_000, 0, 1_000_000, 0.45),
            ("anthropic", "claude-haiku-4-5", 1_000_000, 0, 0, 0.5),
        ]
    )
    result = compare(spent, settings, prices)
    assert result["chosen"] == "every provider with prices (routing.providers is not set)"
    by = {row["provider"]: row for row in result["rows"]}
    assert set(by) == {"openai", "azure-openai", "anthropic", "gemini"}
    assert by["anthropic"]["models"] == {
        "gpt-4o-mini": "claude-haiku-4-5",
        "claude-haiku-4-5": "claude-haiku-4-5",
    }
    assert by["anthropic"]["cost_usd"] == pytest.approx((3 * 1.0 + 1 * 5.0) * 0.5)
    assert by["gemini"]["models"]["gpt-4o-mini"] == "gemini-2.5-flash"
    assert by["gemini"]["cost_usd"] == pytest.approx((3 * 0.30 + 1 * 2.50) * 0.5)
    assert by["openai"]["models"]["claude-haiku-4-5"] == "gpt-4o-mini"
    assert by["openai"]["cost_usd"] == pytest.approx((3 * 0.15 + 1 * 0.60) * 0.5)
    assert by["openai"]["spent_usd"] == 0.45 and by["anthropic"]["spent_usd"] == 0.5
    assert "tokenizers count the same text differently" in result["assumption"]


def test_compare_uses_the_routing_providers_when_set() -> None:
    settings = load_settings({"anthropic.model": "claude-sonnet-4-5"})
    settings.set("routing", {"providers": ["anthropic", "openai"]})
    prices = PriceBook.from_settings(settings)
    result = compare(
        report([("openai", "gpt-4o-mini", 1_000_000, 500_000, 0, 0.1)]), settings, prices
    )
    assert result["chosen"] == "the providers of routing.providers"
    assert [row["provider"] for row in result["rows"]] == ["anthropic", "openai"]
    anthropic = result["rows"][0]
    assert anthropic["models"] == {"gpt-4o-mini": "claude-sonnet-4-5"}
    assert anthropic["cost_usd"] == pytest.approx((0.5 * 3.0 + 0.5 * 0.30) * 0.5)


def test_a_plan_is_estimated_at_its_provider_price() -> None:
    settings = load_settings({"estimates.output_tokens_per_request": 100})
    estimator = Estimator(settings, {}, PriceBook.from_settings(settings))

    def plan(provider: str, model: str) -> BatchPlan:
        return BatchPlan(
            "b", "acme", model, "analysis", "k", Path("x.jsonl"), 10, 1, 1_000_000, provider
        )

    openai = estimator.estimate(plan("openai", "gpt-4o-mini"))
    assert openai.cost_usd == pytest.approx((1.0 * 0.15 + 0.001 * 0.60) * 0.5)
    anthropic = estimator.estimate(plan("anthropic", "claude-haiku-4-5"))
    assert anthropic.cost_usd == pytest.approx((1.0 * 1.0 + 0.001 * 5.0) * 0.5)
    routed = estimator.estimate(plan("anthropic", "gpt-4o-mini"))
    assert routed.cost_usd == pytest.approx(anthropic.cost_usd)
