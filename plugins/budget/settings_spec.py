"""Settings of the ``budget`` plugin: ``[estimates]``, ``[budgets]`` and its fair-share keys of
``[batch]``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kernel import hookimpl
from kernel.settingspec import Section, Setting


def _number(value: Any) -> bool:
    """A number (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive_numbers(table: Mapping[str, Any]) -> bool:
    """Every value is a number above 0."""
    return all(_number(value) and value > 0 for value in table.values())


def _whole_numbers(table: Mapping[str, Any]) -> bool:
    """Every value is a whole number of at least 0."""
    return all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in table.values())


def _company_budgets(table: Mapping[str, Any]) -> bool:
    """Every company gives daily_usd and/or monthly_usd, numbers of at least 0."""
    return all(
        isinstance(limits, Mapping)
        and set(limits) <= {"daily_usd", "monthly_usd"}
        and all(_number(value) and value >= 0 for value in limits.values())
        for limits in table.values()
    )


def _usd(key: str, help: str) -> Setting:
    """A spend limit in USD; 0 means none."""
    return Setting(key, float, 0.0, help, ge=0)


FAIR_SHARES = Section(
    "batch",
    "",
    (
        Setting(
            "max_batches_per_cycle",
            int,
            0,
            "batches claimed per create cycle over all companies, shared fairly (0: no cap)",
            ge=0,
        ),
        Setting(
            "max_inflight_per_company",
            int,
            0,
            "batches of one company at the provider at once (0: no limit)",
            ge=0,
        ),
        Setting(
            "company_weights",
            dict,
            {},
            "share of a cycle's slots per company id, e.g. {acme = 2.0}; others weigh 1",
            check=_positive_numbers,
            rule="of company ids to numbers above 0",
        ),
        Setting(
            "enqueued_token_limits",
            dict,
            {},
            "the provider's enqueued-token limit per model for your tier; batches wait instead "
            "of failing (0 or unset: none)",
            check=_whole_numbers,
            rule="of models to whole numbers of at least 0",
        ),
    ),
)

ESTIMATES = Section(
    "estimates",
    "The estimate stored on every batch before it is submitted. Input tokens: 4 characters a "
    "token plus 4 per message. Output tokens per request: what the company's applied batches "
    "used over history_days, once they cover min_history_requests requests.",
    (
        Setting(
            "output_tokens_per_request",
            int,
            150,
            "expected output per request until a company has history",
            ge=0,
        ),
        Setting("history_days", int, 30, "days of applied batches an estimate learns from", ge=0),
        Setting(
            "min_history_requests",
            int,
            50,
            "requests of history needed before it replaces the default",
            ge=0,
        ),
    ),
)

BUDGETS = Section(
    "budgets",
    "USD spend limits (0: none). A batch whose estimate would pass one is not submitted; its "
    "requests wait until a new UTC day or month, or a raised budget.",
    (
        _usd("daily_usd", "all companies together, per UTC day"),
        _usd("monthly_usd", "all companies together, per UTC calendar month"),
        _usd("company_daily_usd", "each company per UTC day, unless budgets.companies names it"),
        _usd("company_monthly_usd", "each company per calendar month, unless named"),
        Setting(
            "warn_fraction",
            float,
            0.8,
            "past this fraction of a budget: a warning log line and a metric",
            gt=0,
            le=1,
        ),
        Setting(
            "companies",
            dict,
            {},
            "per company id: {acme = {daily_usd = 5.0, monthly_usd = 100.0}}",
            check=_company_budgets,
            rule="of company ids to tables of daily_usd and monthly_usd (numbers of at least 0)",
        ),
    ),
)


@hookimpl
def declare_settings() -> list[Section]:
    """The budget plugin's sections and keys."""
    return [FAIR_SHARES, ESTIMATES, BUDGETS]
