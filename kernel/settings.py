"""Settings: dynaconf over ``settings.toml``, ``BATCHKERNEL_*`` variables and the seed's flags.

Validation runs at load time and raises :class:`kernel.types.ConfigError` naming the bad setting
and, in plain words, the valid values, so a typo stops the program before it touches the
database. A message never shows a secret: values of secret keys (tokens, API keys, headers) are
shown by their type only and passwords in URLs are masked (:mod:`kernel.redact`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dynaconf import Dynaconf, ValidationError, Validator

from kernel.redact import shown
from kernel.types import ConfigError

ENV_PREFIX = "BATCHKERNEL"
SEED_FLAGS = {
    "ENABLE_BATCH_OPTIMIZATION": "processing.enable_batch_optimization",
    "ENABLE_BATCH_OPERATIONS": "processing.enable_batch_operations",
    "ENABLE_PARALLEL_PROCESSING": "processing.enable_parallel_processing",
    "FALLBACK_ON_ERRORS": "processing.fallback_on_errors",
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def default_settings_file() -> Path:
    """The shipped defaults: ``settings.toml`` beside the package, or at the repository root."""
    packaged = Path(__file__).with_name("settings.toml")
    return (
        packaged if packaged.exists() else Path(__file__).resolve().parent.parent / "settings.toml"
    )


def _validators() -> list[Validator]:
    """The rules every loaded configuration must satisfy."""

    def positive(key: str, *, lte: int | None = None) -> Validator:
        bounds: dict[str, int] = {"gte": 1} if lte is None else {"gte": 1, "lte": lte}
        return Validator(key, must_exist=True, is_type_of=(int, float), **bounds)

    rules = [
        Validator("database.url", must_exist=True, is_type_of=str, len_min=1),
        Validator("plugins.processor", must_exist=True, is_type_of=str),
        Validator("plugins.provider", must_exist=True, is_type_of=str),
        Validator("plugins.cache", must_exist=True, is_type_of=str),
        Validator("plugins.exporters", "plugins.enabled", "plugins.disabled", is_type_of=list),
        Validator("plugins.strict", "plugins.autoload", "plugins.trace", is_type_of=bool),
        Validator(*SEED_FLAGS.values(), must_exist=True, is_type_of=bool),
        positive("processing.max_concurrent_companies", lte=64),
        positive("processing.chunk_size", lte=50_000),
        positive("batch.max_requests_per_batch", lte=50_000),
        positive("batch.max_file_bytes", lte=200_000_000),
        positive("batch.max_input_tokens_per_batch"),
        positive("batch.min_batch_size"),
        positive("batch.max_attempts", lte=100),
        Validator("batch.max_wait_minutes", must_exist=True, is_type_of=(int, float), gte=0),
        Validator("cache.ttl_seconds", must_exist=True, is_type_of=(int, float), gt=0),
        Validator(
            "cache.refresh_ahead",
            must_exist=True,
            is_type_of=(int, float),
            gt=0,
            lte=1,
            messages={
                "operations": "cache.refresh_ahead must be a fraction of the TTL in (0, 1] "
                "(1 turns refresh-ahead off; got {value})"
            },
        ),
        Validator("cache.fill_wait_seconds", is_type_of=(int, float), gte=0),
        Validator("cache.lock_seconds", is_type_of=(int, float), gt=0),
        Validator("cache.directory", "cache.key_prefix", is_type_of=str),
        Validator(
            "cache.redis_url",
            is_type_of=str,
            condition=lambda url: url.split("://", 1)[0] in ("redis", "rediss", "unix"),
            messages={
                "condition": "cache.redis_url must start with redis://, rediss:// or unix:// "
                "(got {value})"
            },
        ),
        Validator("model.name", must_exist=True, is_type_of=str, len_min=1),
        Validator("model.temperature", is_type_of=(int, float), gte=0, lte=2),
        positive("model.max_tokens"),
        Validator("openai.base_url", must_exist=True, is_type_of=str, startswith="http"),
        Validator("openai.api_key", is_type_of=str),
        Validator(
            "openai.input_expires_after_seconds",
            "openai.output_expires_after_seconds",
            is_type_of=int,
            condition=lambda seconds: seconds == 0 or 3600 <= seconds <= 2_592_000,
            messages={
                "condition": "{name} must be 0 (the provider's default) or from 3600 (an hour) "
                "to 2592000 (30 days) seconds (got {value})"
            },
        ),
        Validator("openai.sweep_interval_seconds", is_type_of=(int, float), gte=0),
        Validator("openai.max_retries", is_type_of=int, gte=0, lte=20),
        Validator(
            "openai.file_retention",
            is_in=["delete", "keep"],
            messages={
                "operations": "openai.file_retention must be one of: delete, keep (got {value})"
            },
        ),
        Validator(
            "telemetry.exporter",
            is_in=["otlp", "console", "none"],
            messages={
                "operations": "telemetry.exporter must be one of: otlp, console, none (got {value})"
            },
        ),
        Validator(
            "telemetry.protocol",
            is_in=["", "http/protobuf", "grpc"],
            messages={
                "operations": "telemetry.protocol must be one of: http/protobuf, grpc, or empty "
                "for OTEL_EXPORTER_OTLP_PROTOCOL (got {value})"
            },
        ),
        Validator("telemetry.endpoint", "telemetry.service_name", is_type_of=str),
        Validator("telemetry.headers", is_type_of=dict),
        Validator(
            "telemetry.timeout_seconds",
            "telemetry.export_interval_seconds",
            is_type_of=(int, float),
            gte=0,
        ),
        Validator("telemetry.max_queue_size", is_type_of=int, gte=1),
        Validator("telemetry.prometheus_port", "serve.port", is_type_of=int, gte=0, lte=65535),
        Validator("telemetry.prometheus_host", "serve.host", is_type_of=str, len_min=1),
        Validator("serve.tokens", is_type_of=list),
        Validator("serve.refresh_seconds", is_type_of=(int, float), gt=0),
        Validator("serve.keep_alive_seconds", is_type_of=(int, float), gt=0, lte=60),
        Validator("serve.read_timeout_seconds", is_type_of=(int, float), gt=0, lte=600),
        Validator(
            "serve.shutdown_seconds", "serve.cache_seconds", is_type_of=(int, float), gte=0, lte=60
        ),
        Validator("serve.max_concurrent_requests", is_type_of=int, gte=1, lte=10000),
        Validator("serve.backlog", is_type_of=int, gte=16, lte=65535),
        Validator("serve.top_companies", "serve.max_page_size", is_type_of=int, gte=1, lte=10000),
        Validator(
            "batch.max_batches_per_cycle",
            "batch.max_inflight_per_company",
            "estimates.output_tokens_per_request",
            "estimates.history_days",
            "estimates.min_history_requests",
            is_type_of=int,
            gte=0,
        ),
        Validator("batch.company_weights", "batch.enqueued_token_limits", is_type_of=dict),
        Validator(
            "budgets.daily_usd",
            "budgets.monthly_usd",
            "budgets.company_daily_usd",
            "budgets.company_monthly_usd",
            is_type_of=(int, float),
            gte=0,
        ),
        Validator("budgets.warn_fraction", is_type_of=(int, float), gt=0, lte=1),
        Validator("budgets.companies", is_type_of=dict),
        Validator(
            "scheduler.create_interval_seconds",
            "scheduler.poll_interval_seconds",
            "scheduler.apply_interval_seconds",
            "scheduler.retry_interval_seconds",
            "scheduler.reconcile_interval_seconds",
            "scheduler.lease_seconds",
            "scheduler.heartbeat_seconds",
            must_exist=True,
            is_type_of=(int, float),
            gt=0,
        ),
    ]
    return [_explained(rule) for rule in rules]


class _MaskedTemplate(str):
    """A dynaconf message template that shows ``{value}`` through :func:`kernel.redact.shown`."""

    def format(self, *args: Any, **kwargs: Any) -> str:
        """Format as ``str.format`` does, with the offending value masked for its key."""
        if "value" in kwargs:
            kwargs["value"] = shown(str(kwargs.get("name", "")), kwargs["value"])
        return str.format(self, *args, **kwargs)


_TYPES: dict[Any, str] = {
    str: "a string",
    bool: "true or false",
    int: "a whole number",
    (int, float): "a number",
    float: "a number",
    list: "a list",
    dict: "a table (key = value pairs)",
}


def _expected(operations: Mapping[str, Any]) -> str:
    """What a rule's operations accept, in plain words (``a whole number from 1 to 64``)."""
    if "is_in" in operations:
        return "one of: " + ", ".join(str(choice) for choice in operations["is_in"])
    words = [_TYPES.get(operations.get("is_type_of"), "a value")]
    low = next((op for op in ("gte", "gt") if op in operations), None)
    high = next((op for op in ("lte", "lt") if op in operations), None)
    if low == "gte" and high == "lte":
        words.append(f"from {operations['gte']} to {operations['lte']}")
    else:
        if low:
            words.append(("at least " if low == "gte" else "above ") + str(operations[low]))
        if high:
            words.append(("at most " if high == "lte" else "below ") + str(operations[high]))
    if operations.get("len_min") == 1:
        words[0] = words[0].replace("a ", "a non-empty ", 1)
    elif "len_min" in operations:
        words.append(f"at least {operations['len_min']} long")
    if "startswith" in operations:
        words.append(f"starting with {operations['startswith']!r}")
    return " ".join(words)


def _explained(rule: Validator) -> Validator:
    """Give ``rule`` messages that name the key and the valid values in plain words, and mask
    the offending value (custom messages keep their wording, with the value masked too)."""
    expected = _expected(rule.operations)
    defaults = Validator.default_messages
    plain = {
        "operations": f"{{name}} must be {expected} (got {{value}})",
        "must_exist_true": f"{{name}} is missing: set it to {expected}",
        "condition": "{name} is not valid (got {value})",
    }
    for key, text in rule.messages.items():
        custom = text != defaults.get(key)
        rule.messages[key] = _MaskedTemplate(text if custom else plain.get(key, text))
    return rule


def _parse_flag(name: str, raw: str) -> bool:
    """Read one of the seed's boolean environment flags, refusing anything ambiguous."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"environment variable {name}={raw!r} is not a boolean; use true or false")


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    settings_file: str | os.PathLike[str] | None = None,
    environment: str | None = None,
) -> Dynaconf:
    """Load, merge and validate settings.

    Precedence, lowest first: shipped defaults, the user's file (``settings_file``, else
    ``BATCHKERNEL_SETTINGS_FILE``, else ``./settings.toml`` when it is not the shipped one),
    ``BATCHKERNEL_*`` variables, the seed's flags, then ``overrides`` (dotted keys, for the CLI
    and tests).
    """
    files = [str(default_settings_file())]
    user_file = settings_file or os.environ.get(f"{ENV_PREFIX}_SETTINGS_FILE")
    if user_file is None and Path("settings.toml").exists():
        local = Path("settings.toml").resolve()
        if local != default_settings_file().resolve():
            user_file = str(local)
    if user_file is not None:
        if not Path(user_file).exists():
            raise ConfigError(f"settings file {user_file} does not exist")
        files.append(str(user_file))
    settings = Dynaconf(
        envvar_prefix=ENV_PREFIX,
        settings_files=files,
        environments=True,
        env_switcher=f"{ENV_PREFIX}_ENV",
        env=environment or os.environ.get(f"{ENV_PREFIX}_ENV", "development"),
        merge_enabled=True,
        load_dotenv=False,
    )
    for variable, key in SEED_FLAGS.items():
        if variable in os.environ:
            settings.set(key, _parse_flag(variable, os.environ[variable]))
    if not settings.get("openai.api_key") and os.environ.get("OPENAI_API_KEY"):
        settings.set("openai.api_key", os.environ["OPENAI_API_KEY"])
    if os.environ.get(f"{ENV_PREFIX}_TRACE_PLUGINS", "").lower() in _TRUE:
        settings.set("plugins.trace", True)
    for key, value in (overrides or {}).items():
        settings.set(key, value)
    settings.validators.register(*_validators())
    try:
        settings.validators.validate_all()
    except ValidationError as exc:
        # No chaining: the message is complete and the original error could show the value.
        raise ConfigError(f"invalid settings: {exc}") from None
    return settings
