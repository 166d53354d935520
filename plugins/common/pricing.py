"""Prices per model from settings, and the cost of one request's tokens at the batch discount."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens; ``batch_discount`` is the fraction taken off (0.5 = half price)."""

    input: float
    cached_input: float
    output: float
    batch_discount: float

    def cost(
        self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0
    ) -> tuple[float, float]:
        """(prompt cost, completion cost) in USD for these tokens, batch discount applied."""
        factor = (1.0 - self.batch_discount) / 1_000_000
        uncached = max(prompt_tokens - cached_tokens, 0)
        prompt = (uncached * self.input + cached_tokens * self.cached_input) * factor
        return prompt, completion_tokens * self.output * factor


class PriceBook:
    """Prices by model name, read from the ``prices`` settings section."""

    def __init__(self, prices: dict[str, Price]) -> None:
        self.prices = prices

    @classmethod
    def from_settings(cls, settings: Any) -> PriceBook:
        """Build from ``prices.models.<name>.{input,cached_input,output}`` and ``prices.batch_discount``."""
        section = settings.prices
        discount = float(section.get("batch_discount", 0.5))
        models = section.get("models", {}) or {}
        return cls(
            {
                str(name): Price(
                    float(values["input"]),
                    float(values.get("cached_input", values["input"])),
                    float(values["output"]),
                    float(values.get("batch_discount", discount)),
                )
                for name, values in models.items()
            }
        )

    def for_model(self, model: str) -> Price | None:
        """The price of a model, also matching dated snapshots such as ``gpt-4o-2024-08-06``."""
        if model in self.prices:
            return self.prices[model]
        candidates = [name for name in self.prices if model.startswith(name + "-")]
        return self.prices[max(candidates, key=len)] if candidates else None
