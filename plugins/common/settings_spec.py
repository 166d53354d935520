"""Settings the processors read (through :mod:`plugins.common`): their keys of ``[processing]`` and
``[batch]``, the request parameters (``[model]``) and the prices (``[prices]``).

Declared for the ``original`` and ``optimized`` processors; the kernel declares the keys of
``[processing]`` and ``[batch]`` it reads itself, and their sections' help.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kernel import hookimpl
from kernel.settingspec import Section, Setting

PRICE_FIELDS = ("input", "cached_input", "output", "batch_discount")


def _model_prices(models: Mapping[str, Any]) -> bool:
    """Each model is a table of non-negative prices with ``input`` and ``output``."""
    return all(
        isinstance(prices, Mapping)
        and {"input", "output"} <= set(prices)
        and set(prices) <= set(PRICE_FIELDS)
        and all(
            isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
            for value in prices.values()
        )
        for prices in models.values()
    )


PROCESSING = Section(
    "processing",
    "",
    (
        Setting(
            "enable_batch_operations",
            bool,
            True,
            "false: the optimized processor queries per company",
        ),
        Setting(
            "enable_parallel_processing",
            bool,
            True,
            "false: one company's submissions and downloads at a time",
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
    "USD per million tokens, by model; costs, estimates and budgets use them. Add or change a "
    'model in your settings file: [default.prices.models."gpt-4.1"] input = 2.0, output = 8.0.',
    (
        Setting(
            "batch_discount",
            float,
            0.5,
            "fraction taken off list prices for batch requests (a model may set its own)",
            ge=0,
            lt=1,
        ),
        Setting(
            "models",
            dict,
            {
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
                "claude-haiku-4-5": {"input": 1.00, "cached_input": 0.10, "output": 5.00},
                "claude-sonnet-4-5": {"input": 3.00, "cached_input": 0.30, "output": 15.00},
                "claude-opus-4-5": {"input": 5.00, "cached_input": 0.50, "output": 25.00},
                "gemini-2.5-flash": {"input": 0.30, "cached_input": 0.03, "output": 2.50},
                "gemini-2.5-flash-lite": {"input": 0.10, "cached_input": 0.01, "output": 0.40},
                "gemini-2.5-pro": {"input": 1.25, "cached_input": 0.125, "output": 10.00},
            },
            "per model: input, cached_input, output (and batch_discount), USD per million "
            "tokens; a reasoning model's reasoning tokens are billed as output",
            check=_model_prices,
            rule="whose models each give input and output (and may give cached_input and "
            "batch_discount) as numbers of at least 0",
        ),
    ),
)


@hookimpl
def declare_settings() -> list[Section]:
    """The processors' keys and sections."""
    return [PROCESSING, BATCH, MODEL, PRICES]
