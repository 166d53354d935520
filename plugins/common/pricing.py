"""Prices per provider and model from settings, stored as dated versions, and the cost of tokens.

Settings (``prices.providers.<p>.models.<name>``, and the earlier ``prices.models``) are the
source; ``ai_models`` (one row per provider and model, see :func:`stored_model_name`) and
``ai_model_prices`` keep every version: a process stores its settings once (:func:`load_prices`),
adding a row with ``effective_from = now`` only for a model whose prices changed and closing the
old row. Costs are computed with the version in force when results land and its id is recorded
on the request.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from kernel.api import KernelAPI
from plugins.common.locks import exclusive
from plugins.common.schema.models import AIModel, AIModelPrice
from plugins.common.settings_spec import stored_model_name
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
    """Prices by provider and model, read from the ``prices`` settings section.

    ``order`` is the providers searched when a caller names none: the configured providers
    (primary first), then every other provider with prices. ``substitutes`` is the model each
    provider sends for a model it does not serve (``[anthropic] model``, ``[gemini] model``).
    """

    def __init__(
        self,
        tables: dict[str, dict[str, Price]],
        order: Sequence[str] = (),
        substitutes: Mapping[str, str] | None = None,
    ) -> None:
        self.tables = tables
        self.order = [*dict.fromkeys([*order, *sorted(tables)])]
        self.substitutes = dict(substitutes or {})

    @classmethod
    def from_settings(cls, settings: Any) -> PriceBook:
        """Build from ``prices.providers.<p>`` (``batch_discount``, ``models.<name>``) and the
        earlier ``prices.models`` (a model's prices at every provider listing it, else at
        ``plugins.provider``)."""
        section = settings.prices
        discount = float(section.batch_discount)
        primary = str(settings.plugins.provider)
        raw: dict[str, dict[str, dict[str, Any]]] = {
            str(provider): {str(m): dict(v) for m, v in (table.get("models") or {}).items()}
            for provider, table in (section.get("providers") or {}).items()
        }
        for model, values in (section.get("models") or {}).items():
            sellers = [name for name, models in raw.items() if model in models]
            for name in sellers or [primary]:
                raw.setdefault(name, {})[str(model)] = {**raw[name].get(model, {}), **values}
        providers = section.get("providers") or {}
        tables = {
            name: {
                model: _price(
                    values, float((providers.get(name) or {}).get("batch_discount", discount))
                )
                for model, values in models.items()
            }
            for name, models in raw.items()
        }
        substitutes = {
            name: str(own["model"])
            for name in tables
            if isinstance(own := settings.get(name.replace("-", "_")), Mapping) and own.get("model")
        }
        return cls(tables, configured_providers(settings), substitutes)

    def for_model(self, model: str, provider: str | None = None) -> Price | None:
        """The price of a model at ``provider``: its own, else that of the model the provider
        answers it with (its ``substitutes`` entry). Named no provider: the primary's, else the
        first other provider's in ``order`` that lists the model. Dated snapshots such as
        ``gpt-4o-2024-08-06`` take their base model's price."""
        primary = provider if provider is not None else self.order[0] if self.order else ""
        name = self.answering_model(primary, model)
        if name is not None or provider is not None:
            return self.tables[primary][name] if name is not None else None
        for other in self.order[1:]:
            found = _match(self.tables.get(other, {}), model)
            if found is not None:
                return found
        return None

    def answering_model(self, provider: str, model: str) -> str | None:
        """The priced model ``provider`` answers a request for ``model`` with: the model itself
        (or the base of a dated snapshot) when it lists it; for another provider's model, its
        substitute. ``None``: not priced (a model no table lists costs nothing)."""
        table = self.tables.get(provider, {})
        listed = _listed(table, model)
        foreign = any(_listed(other, model) for other in self.tables.values())
        if listed is None and foreign and provider in self.substitutes:
            listed = _listed(table, self.substitutes[provider])
        return listed

    def priced(self, provider: str, model: str) -> str | None:
        """The name under which ``provider`` prices ``model`` (a dated snapshot's base name)."""
        return _listed(self.tables.get(provider, {}), model)

    def entries(self) -> Iterator[tuple[str, str, Price]]:
        """Every (provider, model, price)."""
        for provider, table in self.tables.items():
            for model, price in table.items():
                yield provider, model, price


def _price(values: Mapping[str, Any], discount: float) -> Price:
    """One model's price from its settings table."""
    return Price(
        float(values["input"]),
        float(values.get("cached_input", values["input"])),
        float(values["output"]),
        float(values.get("batch_discount", discount)),
    )


def _listed(table: Mapping[str, Any], model: str) -> str | None:
    """The entry of one provider's table that prices ``model``: its name, or the longest name
    it extends as a dated snapshot (``gpt-4o`` for ``gpt-4o-2024-08-06``)."""
    if model in table:
        return model
    candidates = [name for name in table if model.startswith(name + "-")]
    return max(candidates, key=len) if candidates else None


def _match(table: Mapping[str, Price], model: str) -> Price | None:
    """A model's price in one provider's table."""
    name = _listed(table, model)
    return table[name] if name is not None else None


def configured_providers(settings: Any) -> list[str]:
    """The providers the pipeline sends to, primary first: ``routing.providers`` when set, else
    ``plugins.provider``."""
    routing = settings.get("routing") or {}
    names = [str(name) for name in (routing.get("providers") or [])]
    return names or [str(settings.plugins.provider)]


def _current(session: Any) -> dict[str, tuple[int, Price | None]]:
    """Stored model name to (model row id, the price version in force), in one query."""
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
    out: dict[str, tuple[int, Price | None]] = {}
    for name, model_id, price_id, inp, cached, outp, discount in rows:
        price = Price(inp, cached, outp, discount, price_id) if price_id is not None else None
        out[name] = (model_id, price)
    return out


def sync_prices(db: Any, book: PriceBook, now: datetime | None = None) -> PriceBook:
    """Store the settings' prices as versions (a new row only where a price changed) and return
    the book with every price's row id. Idempotent; serialized across instances."""
    now = now or utcnow()
    wanted = {
        stored_model_name(provider, model): (provider, price)
        for provider, model, price in book.entries()
    }
    with db.transaction() as session:
        exclusive(session, db, "prices")
        stored = _current(session)
        missing = [name for name in wanted if name not in stored]
        if missing:
            made = session.execute(
                insert(AIModel).returning(AIModel.name, AIModel.id),
                [{"name": name, "provider": wanted[name][0]} for name in missing],
            ).all()
            stored |= {name: (model_id, None) for name, model_id in made}
        changed = {
            name: stored[name]
            for name, (_, price) in wanted.items()
            if (current := stored[name][1]) is None or not current.same_as(price)
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
                    "input_per_million": wanted[name][1].input,
                    "cached_input_per_million": wanted[name][1].cached_input,
                    "output_per_million": wanted[name][1].output,
                    "batch_discount": wanted[name][1].batch_discount,
                    "effective_from": now,
                }
                for name, (model_id, _) in changed.items()
            ]
            inserted = session.execute(
                insert(AIModelPrice).returning(AIModelPrice.id, AIModelPrice.model_id), rows
            ).all()
            by_model = {model_id: price_id for price_id, model_id in inserted}
            ids = {name: by_model[model_id] for name, (model_id, _) in changed.items()}
    for name in wanted.keys() - ids.keys():
        current = stored[name][1]
        if current is not None and current.id is not None:
            ids[name] = current.id
    return PriceBook(
        {
            provider: {
                model: replace(price, id=ids.get(stored_model_name(provider, model)))
                for model, price in table.items()
            }
            for provider, table in book.tables.items()
        },
        book.order,
        book.substitutes,
    )


def load_prices(kernel: KernelAPI) -> PriceBook:
    """The prices in force for this kernel: its settings, stored as versions on first use."""
    book = _LOADED.get(kernel)
    if book is None:
        book = sync_prices(kernel.db, PriceBook.from_settings(kernel.settings))
        _LOADED[kernel] = book
    return book
