"""``batchkernel costs --compare``: what was spent against the same tokens at each provider's batch
price.

The tokens are the recorded ones (input, cached, output) of every request that cost something,
grouped by the provider that answered and its model. At another provider they are priced for the
same model when that provider lists it, else for the provider's configured model (``[<provider>]
model``, else ``model.name``): the model a request routed there would be sent with. Prices are
today's settings, batch discount applied; the spend is what the database recorded.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from plugins.common.pricing import PriceBook, configured_providers

ASSUMPTION = (
    "the same token counts at every provider (those the answering provider reported; other "
    "tokenizers count the same text differently: Claude's typically more tokens than OpenAI's "
    "for English text), the same share of cached input, reasoning tokens billed as output"
)


def provider_model(settings: Any, book: PriceBook, provider: str, model: str) -> str | None:
    """The priced model ``provider`` would answer a request for ``model`` with: the same model
    when it lists it, else the model it sends for others (``[<provider>] model``), else
    ``model.name``; ``None`` when it prices none of them."""
    found = book.answering_model(provider, model)
    fallback = book.substitutes.get(provider, str(settings.model.name))
    return found if found is not None else book.priced(provider, fallback)


def targets(settings: Any, book: PriceBook) -> tuple[list[str], str]:
    """The providers to compare with, and which they are in words."""
    routing = settings.get("routing") or {}
    if routing.get("providers"):
        return configured_providers(settings), "the providers of routing.providers"
    return sorted(book.tables), "every provider with prices (routing.providers is not set)"


def compare(report: dict[str, Any], settings: Any, book: PriceBook) -> dict[str, Any]:
    """The spend per answering provider, and the same tokens' cost at each target provider."""
    names, chosen = targets(settings, book)
    tokens: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    spent: dict[str, float] = defaultdict(float)
    for row in report["rows"]:
        used = tokens[(row["provider"], row["model"])]
        used[0] += row["input_tokens"]
        used[1] += row["cached_tokens"]
        used[2] += row["output_tokens"]
        spent[row["provider"]] += row["cost_usd"]
    rows = []
    for target in names:
        cost, unpriced = 0.0, 0
        models: dict[str, str | None] = {}
        for (_, model), (inp, cached, out) in sorted(tokens.items()):
            chosen_model = provider_model(settings, book, target, model)
            models[model] = chosen_model
            if chosen_model is None:
                unpriced += inp + out
                continue
            cost += sum(book.tables[target][chosen_model].cost(inp, out, cached))
        rows.append(
            {
                "provider": target,
                "cost_usd": cost,
                "models": models,
                "unpriced_tokens": unpriced,
                "spent_usd": spent.get(target, 0.0),
            }
        )
    return {
        "providers": names,
        "chosen": chosen,
        "spent": [{"provider": name, "cost_usd": spent[name]} for name in sorted(spent)],
        "rows": rows,
        "assumption": ASSUMPTION,
    }
