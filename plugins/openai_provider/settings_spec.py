"""Settings of the ``openai`` and ``azure-openai`` providers: the ``[openai]`` and
``[azure_openai]`` sections (kept free of the SDK import)."""

from __future__ import annotations

from kernel import hookimpl
from kernel.settingspec import Section, Setting
from plugins.openai_provider.models import EFFORTS, SHIPPED, valid_table

DAY = 86_400


def _expiry(seconds: int) -> bool:
    """0 (the provider's default) or from an hour to 30 days."""
    return seconds == 0 or 3600 <= seconds <= 30 * DAY


def _azure_expiry(seconds: int) -> bool:
    """0 (the provider's default) or from 14 to 30 days (Azure accepts no shorter expiry)."""
    return seconds == 0 or 14 * DAY <= seconds <= 30 * DAY


def _expires_after(key: str, what: str) -> Setting:
    """When the provider deletes a file of ours on its own."""
    return Setting(
        key,
        int,
        7 * DAY,
        f"{what} expire at the provider after this (7 days; 0: the provider's default)",
        check=_expiry,
        rule="that is 0 (the provider's default) or from 3600 (an hour) to 2592000 (30 days)",
    )


def _azure_expires_after(key: str, what: str) -> Setting:
    """When Azure deletes a file of ours on its own (only 14 to 30 days are accepted)."""
    return Setting(
        key,
        int,
        0,
        f"{what} expire at the resource after this (0: Azure's default; else 14 to 30 days)",
        check=_azure_expiry,
        rule="that is 0 (Azure's default) or from 1209600 (14 days) to 2592000 (30 days)",
    )


def _model_parameters(section: str) -> tuple[Setting, ...]:
    """What each model accepts, and the reasoning effort asked of reasoning models."""
    return (
        Setting(
            "models",
            dict,
            SHIPPED,
            "what each model accepts, by model-name prefix (the longest match wins): "
            "reasoning = true sends max_completion_tokens (Responses: max_output_tokens), no "
            "temperature, and the reasoning effort; false sends max_tokens and temperature",
            check=valid_table,
            rule="of model-name prefixes to tables like {reasoning = true}, e.g. "
            f'[default.{section}.models."o5"] reasoning = true',
        ),
        Setting(
            "reasoning_effort",
            str,
            "",
            "the reasoning effort asked of reasoning models (empty: the model's default)",
            choices=("", *EFFORTS),
        ),
    )


def _resilience() -> tuple[Setting, ...]:
    """Timeouts, retries, breakers, the fate of provider files and quota pauses: the same for
    both services."""
    return (
        Setting("timeout_seconds", float, 60, "one call gives up after this", gt=0),
        Setting("connect_timeout_seconds", float, 5, "connecting gives up after this", gt=0),
        Setting("max_retries", int, 3, "retries of a failed call (with backoff)", ge=0, le=20),
        Setting("backoff_base_seconds", float, 0.5, "backoff before the first retry", ge=0),
        Setting("backoff_max_seconds", float, 30, "the longest backoff between retries", ge=0),
        Setting(
            "circuit_failure_threshold",
            int,
            5,
            "failures in a row that open an operation's circuit",
            ge=1,
        ),
        Setting(
            "circuit_reset_seconds", float, 300, "an open circuit lets a call try after this", ge=0
        ),
        Setting(
            "file_retention",
            str,
            "delete",
            "provider files after results are applied: delete or keep",
            choices=("delete", "keep"),
        ),
        Setting(
            "sweep_interval_seconds",
            float,
            3600,
            "at most one sweep of the provider's file list (for leftovers) per this interval",
            ge=0,
        ),
        Setting(
            "quota_pause_seconds",
            float,
            900,
            "after an insufficient_quota (billing) answer, batch creation pauses this long; "
            "each further one in a row doubles the pause",
            gt=0,
        ),
        Setting(
            "quota_pause_max_seconds",
            float,
            21_600,
            "the longest pause of batch creation after quota answers in a row",
            gt=0,
        ),
    )


OPENAI = Section(
    "openai",
    "The OpenAI provider: endpoint, key, and the resilience of every call (timeouts, retries with "
    "backoff, a circuit breaker per operation); what happens to provider files afterwards.",
    (
        Setting(
            "base_url",
            str,
            "https://api.openai.com/v1",
            "the provider endpoint (else OPENAI_BASE_URL)",
            fallback_env="OPENAI_BASE_URL",
            check=lambda url: url.startswith("http"),
            rule="starting with 'http'",
        ),
        Setting(
            "api_key",
            str,
            "",
            "the API key (else OPENAI_API_KEY); never logged",
            secret=True,
            fallback_env="OPENAI_API_KEY",
        ),
        Setting(
            "endpoint",
            str,
            "/v1/chat/completions",
            "the API every request line calls: chat completions or the Responses API",
            choices=("/v1/chat/completions", "/v1/responses"),
        ),
        *_model_parameters("openai"),
        *_resilience(),
        _expires_after("input_expires_after_seconds", "uploaded input files"),
        _expires_after("output_expires_after_seconds", "result files"),
    ),
)

AZURE_OPENAI = Section(
    "azure_openai",
    "The Azure OpenAI provider (the openai SDK's Azure client): the resource endpoint, key, API "
    "version and Global-Batch deployment; the resilience of every call as for [openai].",
    (
        Setting(
            "endpoint",
            str,
            "https://YOUR-RESOURCE.openai.azure.com",
            "the resource endpoint (the client adds /openai/files and /openai/batches)",
            check=lambda url: url.startswith("http"),
            rule="starting with 'http'",
        ),
        Setting(
            "api_key",
            str,
            "",
            "the resource key (else AZURE_OPENAI_API_KEY); sent as the api-key header, never "
            "logged",
            secret=True,
            fallback_env="AZURE_OPENAI_API_KEY",
        ),
        Setting(
            "api_version",
            str,
            "2024-10-21",
            "the api-version query parameter of every call",
            non_empty=True,
        ),
        Setting(
            "deployment",
            str,
            "",
            "the Global-Batch deployment every input line names (empty: the model name)",
        ),
        *_model_parameters("azure_openai"),
        *_resilience(),
        _azure_expires_after("input_expires_after_seconds", "uploaded input files"),
        _azure_expires_after("output_expires_after_seconds", "result files"),
    ),
)


@hookimpl
def declare_settings() -> list[Section]:
    """The ``[openai]`` section."""
    return [OPENAI]
