"""Settings the processors read (through :mod:`plugins.common`): their keys of ``[processing]`` and
``[batch]``, the request parameters (``[model]``) and the prices (``[prices]``).

Declared for the ``original`` and ``optimized`` processors; the kernel declares the keys of
``[processing]`` and ``[batch]`` it reads itself, and their sections' help.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from kernel import hookimpl
from kernel.settingspec import Section, Setting

PRICE_FIELDS = ("input", "cached_input", "output", "batch_discount")
PROVIDER_FIELDS = ("batch_discount", "models")
OPENAI_PRICES = {
    "gpt-4o-mini": {"input": 0.15, "cached_input": 0.075, "output": 0.60},
    "gpt-4o": {"input": 2.50, "cached_input": 1.25, "output": 10.00},
    "gpt-4.1": {"input": 2.00, "cached_input": 0.50, "output": 8.00},
    "gpt-4.1-mini": {"input": 0.40, "cached_input": 0.10, "output": 1.60},
    "gpt-4.1-nano": {"input": 0.10, "cached_input": 0.025, "output": 0.40},
    "gpt-5": {"input": 1.25, "cached_input": 0.125, "output": 10.00},
    "gpt-5-mini": {"input": 0.25, "cached_input": 0.025, "output": 2.00},
    "gpt-5-nano": {"input": 0.05, "cached_input": 0.005, "output": 0.40},
    "o3": {"input": 2.00, "cached_input": 0.50, "output": 8.00},
    "o4-mini": {"input": 1.10, "cached_input": 0.275, "output": 4.40},
}
DEFAULT_PROVIDER_PRICES = {
    "openai": {"batch_discount": 0.5, "models": OPENAI_PRICES},
    "azure-openai": {"batch_discount": 0.5, "models": OPENAI_PRICES},
    "anthropic": {
        "batch_discount": 0.5,
        "models": {
            "claude-haiku-4-5": {"input": 1.00, "cached_input": 0.10, "output": 5.00},
            "claude-sonnet-4-5": {"input": 3.00, "cached_input": 0.30, "output": 15.00},
            "claude-opus-4-5": {"input": 5.00, "cached_input": 0.50, "output": 25.00},
        },
    },
    "gemini": {
        "batch_discount": 0.5,
        "models": {
            "gemini-2.5-flash": {"input": 0.30, "cached_input": 0.03, "output": 2.50},
            "gemini-2.5-flash-lite": {"input": 0.10, "cached_input": 0.01, "output": 0.40},
            "gemini-2.5-pro": {"input": 1.25, "cached_input": 0.125, "output": 10.00},
        },
    },
}
"""List prices (USD per million tokens) of each provider's models; Azure's Global deployments
are priced like OpenAI's (Data Zone and regional deployments cost more: set them)."""


def _number(value: Any, *, below_one: bool = False) -> bool:
    """A price or discount: a number of at least 0 (a discount below 1)."""
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return numeric and value >= 0 and (not below_one or value < 1)


def _model_problems(where: str, prices: Any, *, partial: bool) -> Iterator[str]:
    """What is wrong with one model's price table (``partial``: input and output may be left out)."""
    if not isinstance(prices, Mapping):
        yield f"{where} must be a table such as {{input = 1.0, output = 5.0}} (got {prices!r})"
        return
    for key, value in prices.items():
        if key not in PRICE_FIELDS:
            yield f"{where}.{key} is not a price; use {', '.join(PRICE_FIELDS)}"
        elif not _number(value, below_one=key == "batch_discount"):
            bound = "at least 0 and below 1" if key == "batch_discount" else "at least 0"
            yield f"{where}.{key} must be a number of {bound} (got {value!r})"
    missing = [key for key in ("input", "output") if key not in prices]
    if missing and not partial:
        yield (
            f"{where} gives no {' and no '.join(missing)}: give both input and output, in USD "
            "per million tokens"
        )


def _price_problems(values: Mapping[str, Any]) -> Iterator[str]:
    """Every provider table and model price, each problem naming its dotted key and the fix."""
    providers = values.get("providers") or {}
    for provider, table in providers.items():
        where = f"prices.providers.{provider}"
        if not isinstance(table, Mapping):
            yield f"{where} must be a table with batch_discount and models (got {table!r})"
            continue
        for key in set(table) - set(PROVIDER_FIELDS):
            yield (
                f"{where}.{key} is not a provider price setting; use batch_discount or "
                f'models."<model>"'
            )
        if "batch_discount" in table and not _number(table["batch_discount"], below_one=True):
            yield (
                f"{where}.batch_discount must be a number of at least 0 and below 1 "
                f"(got {table['batch_discount']!r})"
            )
        models = table.get("models") or {}
        if not isinstance(models, Mapping):
            yield f"{where}.models must be a table of models (got {models!r})"
            continue
        for model, prices in models.items():
            yield from _model_problems(f"{where}.models.{model}", prices, partial=False)
            if len(stored_model_name(str(provider), str(model))) > 100:
                yield f"{where}.models.{model}: the model name is too long (100 characters)"
    listed = {
        str(model)
        for table in providers.values()
        if isinstance(table, Mapping) and isinstance(table.get("models"), Mapping)
        for model in table["models"]
    }
    for model, prices in (values.get("models") or {}).items():
        where = f"prices.models.{model}"
        yield from _model_problems(where, prices, partial=str(model) in listed)


def stored_model_name(provider: str, model: str) -> str:
    """The ``ai_models.name`` of a model at a provider: OpenAI's bare (as stored before prices
    were per provider), any other's ``provider/model``."""
    return model if provider == "openai" else f"{provider}/{model}"


PROCESSING = Section(
    "processing",
    "",
    (
        Setting(
            "enable_batch_operations",
            bool,
            True,
            "false: the optimized processor queries per company",
            flag_env="ENABLE_BATCH_OPERATIONS",
        ),
        Setting(
            "enable_parallel_processing",
            bool,
            True,
            "false: one company's submissions and downloads at a time",
            flag_env="ENABLE_PARALLEL_PROCESSING",
        ),
        Setting(
            "max_concurrent_companies",
            int,
            5,
            "companies whose provider calls run at once (optimized)",
            ge=1,
            le=64,
        ),
        Setting(
            "chunk_size",
            int,
            5000,
            "optimized: requests claimed per page and result lines written per statement pair",
            ge=1,
            le=50000,
        ),
    ),
)

BATCH = Section(
    "batch",
    "",
    (
        Setting(
            "max_requests_per_batch",
            int,
            1000,
            "requests per batch (the provider allows 50,000 lines a file)",
            ge=1,
            le=50000,
        ),
        Setting(
            "max_file_bytes",
            int,
            200_000_000,
            "input file size limit (the provider's is 200 MB)",
            ge=1,
            le=200_000_000,
        ),
        Setting(
            "max_input_tokens_per_batch", int, 2_000_000, "estimated input tokens per batch", ge=1
        ),
        Setting("min_batch_size", int, 10, "wait for this many pending requests...", ge=1),
        Setting("max_wait_minutes", float, 30, "...or for the oldest to be this old", ge=0),
        Setting("max_attempts", int, 3, "attempts before a request fails for good", ge=1, le=100),
        Setting(
            "retry_base_seconds",
            float,
            30,
            "backoff before the second attempt (exponential, with jitter)",
            ge=0,
        ),
        Setting("retry_max_seconds", float, 21600, "the longest backoff between attempts", ge=0),
    ),
)

MODEL = Section(
    "model",
    "The request parameters sent with every request.",
    (
        Setting("name", str, "gpt-4o-mini", "the model", non_empty=True),
        Setting("temperature", float, 0.1, "sampling temperature", ge=0, le=2),
        Setting("max_tokens", int, 1000, "the most output tokens per request", ge=1),
        Setting(
            "length_retry_factor",
            float,
            2.0,
            "an answer cut off at the output limit is asked once more with the limit times this; "
            "cut off again, the request fails",
            ge=1,
        ),
    ),
)

PRICES = Section(
    "prices",
    "USD per million tokens, by provider and model; costs, estimates, budgets and "
    "`costs --compare` use them. Add or change a model in your settings file: "
    '[default.prices.providers.anthropic.models."claude-haiku-4-5"] input = 1.0, output = 5.0.',
    (
        Setting(
            "batch_discount",
            float,
            0.5,
            "fraction taken off list prices for batch requests (a provider or a model may set "
            "its own)",
            ge=0,
            lt=1,
        ),
        Setting(
            "providers",
            dict,
            DEFAULT_PROVIDER_PRICES,
            "per provider: batch_discount and models.<model> = {input, cached_input, output "
            "(and batch_discount)}, USD per million tokens; a reasoning model's reasoning tokens "
            "are billed as output",
            rule="of provider tables (checked key by key)",
        ),
        Setting(
            "models",
            dict,
            {},
            "the one table of earlier versions: a model named here takes these prices (key by "
            "key) at every provider whose table lists it; a model no provider lists joins "
            "plugins.provider's table",
            rule="of model tables (checked key by key)",
        ),
    ),
    validate=_price_problems,
)


@hookimpl
def declare_settings() -> list[Section]:
    """The processors' keys and sections."""
    return [PROCESSING, BATCH, MODEL, PRICES]


@hookimpl
def migration_locations() -> list[str]:
    """The revisions of the product's schema (:mod:`plugins.common.schema`)."""
    return [str(Path(__file__).with_name("schema") / "migrations")]


@hookimpl
def declare_hookspecs() -> list[type]:
    """Health checks, status merging and benchmark probes (:mod:`plugins.common.hookspecs`)."""
    from plugins.common.hookspecs import HOOKSPECS

    return list(HOOKSPECS)
