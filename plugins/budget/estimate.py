"""The estimate stored on a batch before it is submitted: output tokens and cost.

Input tokens come with the plan: the provider's encoder counted them while the input file was
written (``count_tokens``).
Output tokens per request are what the company's applied batches of that processing type used
recently, or ``estimates.output_tokens_per_request`` until there is enough history.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from kernel.types import BatchPlan
from plugins.common.budgets import Usage
from plugins.common.pricing import PriceBook


@dataclass(frozen=True, slots=True)
class Estimate:
    """What one plan is expected to use and cost."""

    input_tokens: int
    output_tokens: int
    cost_usd: float


class Estimator:
    """Estimates plans from the history in one ``batch_usage`` answer and the price book."""

    def __init__(
        self, settings: Any, usage: dict[tuple[str, str, str], Usage], prices: PriceBook
    ) -> None:
        self.default = int(settings.estimates.output_tokens_per_request)
        self.minimum = int(settings.estimates.min_history_requests)
        self.prices = prices
        totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for (company, _, ptype), use in usage.items():
            totals[(company, ptype)][0] += use.history_output
            totals[(company, ptype)][1] += use.history_requests
        self.history = dict(totals)

    def output_per_request(self, company_id: str, processing_type: str) -> float:
        """Expected output tokens of one request of this company and processing type."""
        output, requests = self.history.get((company_id, processing_type), (0, 0))
        if requests >= max(self.minimum, 1):
            return output / requests
        return float(self.default)

    def estimate(self, plan: BatchPlan) -> Estimate:
        """Tokens and cost of one plan at the price in force now (0 for an unpriced model)."""
        per_request = self.output_per_request(plan.company_id, plan.processing_type)
        output = round(plan.request_count * per_request)
        price = self.prices.for_model(plan.model, plan.provider)
        cost = sum(price.cost(plan.estimated_input_tokens, output)) if price else 0.0
        return Estimate(plan.estimated_input_tokens, output, cost)
