"""Prices per model from settings, stored as dated versions, and the cost of a request's tokens.

Settings (``prices.models.<name>``) are the source; ``ai_models`` and ``ai_model_prices`` keep
every version: a process stores its settings once (:func:`load_prices`), adding a row with
``effective_from = now`` only for a model whose prices changed and closing the old row. Costs are
computed with the version in force when results land and its id is recorded on the request.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from kernel.api import KernelAPI
from kernel.db.models import AIModel, AIModelPrice
from plugins.common.locks import exclusive
from plugins.common.timeutil import utcnow

_LOADED: weakref.WeakKeyDictionary[Any, PriceBook] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens; ``batch_discount`` is the fraction taken off (0.5 = half price).

    ``id`` is the ``ai_model_prices`` row of this version (``None`` before it is stored).
    """

    input: float
    cached_input: float
    output: float
    batch_discount: float
    id: int | None = None

    def cost(
        self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0
    ) -> tuple[float, float]:
        """(prompt cost, completion cost) in USD for these tokens, batch discount applied."""
        factor = (1.0 - self.batch_discount) / 1_000_000
        uncached = max(prompt_tokens - cached_tokens, 0)
        prompt = (uncached * self.input + cached_tokens * self.cached_input) * factor
        return prompt, completion_tokens * self.output * factor

    def same_as(self, other: Price) -> bool:
        """Whether two prices charge the same (row ids aside)."""
        mine = (self.input, self.cached_input, self.output, self.batch_discount)
        theirs = (other.input, other.cached_input, other.output, other.batch_discount)
        return all(
            math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
            for a, b in zip(mine, theirs, strict=True)
        )


class PriceBook:
    """Prices by model name, read from the ``prices`` settings section."""

    def __init__(self, prices: dict[str, Price]) -> None:
        self.prices = prices

    @classmethod
    def from_settings(cls, settings: Any) -> PriceBook:
        """Build from ``prices.models.<name>.{input,cached_input,output}`` and ``prices.batch_discount``."""
        section = settings.prices
        discount = float(section.batch_discount)
        models = section.models
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


def _current(session: Any) -> dict[str, tuple[int, Price]]:
    """Model name to (model row id, the price version in force) as stored."""
    rows = session.execute(
        select(
            AIModel.name,
            AIModel.id,
            AIModelPrice.id,
            AIModelPrice.input_per_million,
            AIModelPrice.cached_input_per_million,
            AIModelPrice.output_per_million,
            AIModelPrice.batch_discount,
        )
        .outerjoin(
            AIModelPrice,
            (AIModelPrice.model_id == AIModel.id) & AIModelPrice.effective_until.is_(None),
        )
        .order_by(AIModel.name, AIModelPrice.effective_from)
    ).all()
    out: dict[str, tuple[int, Price]] = {}
    for name, model_id, price_id, inp, cached, outp, discount in rows:
        price = Price(inp, cached, outp, discount, price_id) if price_id is not None else None
        out[name] = (model_id, price)  # type: ignore[assignment]
    return out


def sync_prices(db: Any, book: PriceBook, now: datetime | None = None) -> PriceBook:
    """Store the settings' prices as versions (a new row only where a price changed) and return
    the book with every price's row id. Idempotent; serialized across instances."""
    now = now or utcnow()
    with db.transaction() as session:
        exclusive(session, db, "prices")
        stored = _current(session)
        missing = [name for name in book.prices if name not in stored]
        if missing:
            made = session.execute(
                insert(AIModel).returning(AIModel.name, AIModel.id),
                [{"name": name} for name in missing],
            ).all()
            stored |= {name: (model_id, None) for name, model_id in made}
        changed = {
            name: stored[name]
            for name, price in book.prices.items()
            if stored[name][1] is None or not stored[name][1].same_as(price)
        }
        old = [price.id for _, price in changed.values() if price is not None]
        if old:
            session.execute(
                update(AIModelPrice)
                .where(AIModelPrice.id.in_(old))
                .values(effective_until=now)
                .execution_options(synchronize_session=False)
            )
        ids: dict[str, int] = {}
        if changed:
            rows = [
                {
                    "model_id": model_id,
                    "input_per_million": book.prices[name].input,
                    "cached_input_per_million": book.prices[name].cached_input,
                    "output_per_million": book.prices[name].output,
                    "batch_discount": book.prices[name].batch_discount,
                    "effective_from": now,
                }
                for name, (model_id, _) in changed.items()
            ]
            inserted = session.execute(
                insert(AIModelPrice).returning(AIModelPrice.id, AIModelPrice.model_id), rows
            ).all()
            by_model = {model_id: price_id for price_id, model_id in inserted}
            ids = {name: by_model[model_id] for name, (model_id, _) in changed.items()}
    return PriceBook(
        {
            name: replace(price, id=ids.get(name, stored[name][1].id if stored[name][1] else None))
            for name, price in book.prices.items()
        }
    )


def load_prices(kernel: KernelAPI) -> PriceBook:
    """The prices in force for this kernel: its settings, stored as versions on first use."""
    book = _LOADED.get(kernel)
    if book is None:
        book = sync_prices(kernel.db, PriceBook.from_settings(kernel.settings))
        _LOADED[kernel] = book
    return book
