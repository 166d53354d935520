"""Settings of the ``gemini`` provider: the ``[gemini]`` section (kept free of the SDK import)."""

from __future__ import annotations

from kernel import hookimpl
from kernel.settingspec import Section, Setting

GEMINI = Section(
    "gemini",
    "The Google Gemini provider (batch mode through the google-genai SDK): endpoint, key, model, "
    "output limit, when to upload a file instead of sending requests inline, and the resilience "
    "of every call.",
    (
        Setting(
            "base_url",
            str,
            "https://generativelanguage.googleapis.com/",
            "the API endpoint (the SDK adds the API version)",
            check=lambda url: url.startswith("http"),
            rule="starting with 'http'",
        ),
        Setting(
            "api_key",
            str,
            "",
            "the API key (else GEMINI_API_KEY); never logged",
            secret=True,
            fallback_env="GEMINI_API_KEY",
        ),
        Setting("model", str, "gemini-2.5-flash", "the model of requests that name none"),
        Setting(
            "max_output_tokens",
            int,
            8192,
            "the most output tokens per request; thinking tokens count against it",
            ge=1,
        ),
        Setting(
            "inline_max_bytes",
            int,
            10 * 1024 * 1024,
            "batches up to this size are sent inline; larger ones as an uploaded JSONL file",
            ge=0,
            le=20 * 1024 * 1024,
        ),
        Setting("timeout_seconds", float, 60, "one call gives up after this", gt=0),
        Setting("max_retries", int, 3, "retries of a failed call (with backoff)", ge=0, le=20),
        Setting("backoff_base_seconds", float, 0.5, "backoff before the first retry", ge=0),
        Setting("backoff_max_seconds", float, 30, "the longest backoff between retries", ge=0),
        Setting(
            "circuit_failure_threshold",
            int,
            5,
            "failed calls in a row after which the provider counts as unhealthy",
            ge=1,
        ),
        Setting(
            "circuit_reset_seconds",
            float,
            300,
            "an unhealthy provider is tried again after this",
            ge=0,
        ),
        Setting(
            "file_retention",
            str,
            "delete",
            "provider files and batches after results are applied: delete or keep",
            choices=("delete", "keep"),
        ),
        Setting(
            "sweep_interval_seconds",
            float,
            3600,
            "at most one sweep of the provider's lists (for files and batches of ours left "
            "behind) per this interval",
            ge=0,
        ),
    ),
)


@hookimpl
def declare_settings() -> list[Section]:
    """The ``[gemini]`` section."""
    return [GEMINI]
