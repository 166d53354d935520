"""Settings of the ``anthropic`` provider: the ``[anthropic]`` section (kept free of the SDK)."""

from __future__ import annotations

from kernel import hookimpl
from kernel.settingspec import Section, Setting

ANTHROPIC = Section(
    "anthropic",
    "The Anthropic Message Batches provider: endpoint, key, model and output limit, how the "
    "schema is enforced, the SDK's retries, and what happens to ended batches.",
    (
        Setting(
            "base_url",
            str,
            "https://api.anthropic.com",
            "the API endpoint (scheme, host and port; the SDK adds /v1/...)",
            check=lambda url: url.startswith("http"),
            rule="starting with 'http'",
        ),
        Setting(
            "api_key",
            str,
            "",
            "the API key (else ANTHROPIC_API_KEY); never logged",
            secret=True,
            fallback_env="ANTHROPIC_API_KEY",
        ),
        Setting(
            "model",
            str,
            "claude-haiku-4-5",
            "the model of requests whose task names none",
            non_empty=True,
        ),
        Setting("max_tokens", int, 1024, "the most output tokens per request", ge=1),
        Setting(
            "structured_output",
            str,
            "json_schema",
            "how the task schema is enforced: json_schema (output_config.format) or tool (a "
            "forced tool call)",
            choices=("json_schema", "tool"),
        ),
        Setting(
            "prompt_cache",
            bool,
            True,
            "mark the task instructions for prompt caching (cache reads cost a tenth)",
        ),
        Setting("timeout_seconds", float, 60, "one call gives up after this", gt=0),
        Setting(
            "max_retries",
            int,
            3,
            "the SDK's retries of a read, cancel or delete (429 and 529 wait their retry-after)",
            ge=0,
            le=20,
        ),
        Setting(
            "create_retries",
            int,
            3,
            "retries of a create answered 429 or 529 (never of one whose answer was lost)",
            ge=0,
            le=20,
        ),
        Setting(
            "max_retry_wait_seconds",
            float,
            60,
            "the longest retry-after a create waits before giving up for this cycle",
            ge=0,
        ),
        Setting(
            "lookup_margin_seconds",
            float,
            3600,
            "a lost create is looked for among batches created this long before its plan",
            ge=0,
        ),
        Setting(
            "batch_retention",
            str,
            "delete",
            "ended batches after their results are applied: delete or keep",
            choices=("delete", "keep"),
        ),
        Setting(
            "sweep_interval_seconds",
            float,
            3600,
            "at most one sweep of the provider's lists (for ended batches of ours left "
            "behind) per this interval",
            ge=0,
        ),
        Setting(
            "quota_cooldown_seconds",
            float,
            600,
            "after a billing refusal, no batch is sent to Anthropic for this long",
            ge=0,
        ),
    ),
)


@hookimpl
def declare_settings() -> list[Section]:
    """The ``[anthropic]`` section."""
    return [ANTHROPIC]
