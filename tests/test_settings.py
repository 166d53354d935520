"""Settings: shipped defaults, environment overrides, the legacy environment flags, validation messages."""

from __future__ import annotations

from typing import Any

import pytest

from kernel.settings import load_settings, mask_url, shown
from kernel.types import ConfigError


def test_defaults_load() -> None:
    settings = load_settings()
    assert settings.plugins.processor == "optimized"
    assert settings.batch.max_requests_per_batch == 1000
    assert settings.processing.enable_batch_optimization is True


def test_nested_environment_override(monkeypatch: Any) -> None:
    monkeypatch.setenv("BATCHKERNEL_DATABASE__URL", "sqlite:///from-env.db")
    monkeypatch.setenv("BATCHKERNEL_BATCH__MAX_REQUESTS_PER_BATCH", "250")
    settings = load_settings()
    assert settings.database.url == "sqlite:///from-env.db"
    assert settings.batch.max_requests_per_batch == 250


def test_production_environment_switch(monkeypatch: Any) -> None:
    monkeypatch.setenv("BATCHKERNEL_ENV", "production")
    assert load_settings().database.url.startswith("postgresql")


@pytest.mark.parametrize(
    ("variable", "key"),
    [
        ("ENABLE_BATCH_OPTIMIZATION", "enable_batch_optimization"),
        ("ENABLE_BATCH_OPERATIONS", "enable_batch_operations"),
        ("ENABLE_PARALLEL_PROCESSING", "enable_parallel_processing"),
        ("FALLBACK_ON_ERRORS", "fallback_on_errors"),
    ],
)
def test_seed_flags_are_read(monkeypatch: Any, variable: str, key: str) -> None:
    monkeypatch.setenv(variable, "false")
    assert load_settings().processing[key] is False
    monkeypatch.setenv(variable, "maybe")
    with pytest.raises(ConfigError, match=variable):
        load_settings()


def test_openai_api_key_falls_back_to_the_standard_variable(monkeypatch: Any) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    assert load_settings().openai.api_key == "sk-from-env"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"batch.max_requests_per_batch": 0}, "batch.max_requests_per_batch"),
        ({"batch.max_requests_per_batch": 60000}, "batch.max_requests_per_batch"),
        ({"telemetry.exporter": "zipkin"}, "otlp, console, none"),
        ({"openai.file_retention": "forever"}, "delete, keep"),
        ({"openai.base_url": "ftp://x"}, "openai.base_url"),
    ],
)
def test_invalid_values_name_the_setting(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_settings(overrides)


def test_user_settings_file_layers_over_defaults(tmp_path: Any) -> None:
    user = tmp_path / "mine.toml"
    user.write_text("[default.batch]\nmax_requests_per_batch = 77\n")
    settings = load_settings(settings_file=user)
    assert settings.batch.max_requests_per_batch == 77
    assert settings.batch.min_batch_size == 10


def test_checked_values_reach_plugins_verbatim(tmp_path: Any, monkeypatch: Any) -> None:
    """Text that looks like a Dynaconf converter is text: it is neither cast (``@int``) nor
    expanded (``@format``) after the checks; only a ``BATCHKERNEL_*`` variable is converted."""
    user = tmp_path / "mine.toml"
    user.write_text(
        '[default.openai]\napi_key = "@int 5"\n'
        '[default.tasks.notes]\ninstructions = "@format {env[HOME]} @jinja {{ 1 + 1 }}"\n'
        'schema = {type = "object", properties = {}}\n'
    )
    monkeypatch.setenv("BATCHKERNEL_BATCH__MAX_ATTEMPTS", "@int 7")
    settings = load_settings(settings_file=user)
    assert settings.openai.api_key == "@int 5"
    assert settings.tasks.notes.instructions == "@format {env[HOME]} @jinja {{ 1 + 1 }}"
    assert settings.batch.max_attempts == 7


SECRET = "LEAKY-s3cr3t-0123456789"


@pytest.mark.parametrize(
    ("key", "toml", "variable", "env_value", "expected"),
    [
        (
            "serve.tokens",
            f'[default.serve]\ntokens = {{token = "{SECRET}"}}\n',
            "BATCHKERNEL_SERVE__TOKENS",
            f'@json {{"token": "{SECRET}"}}',
            "must be a list",
        ),
        (
            "openai.api_key",
            f'[default.openai]\napi_key = ["{SECRET}"]\n',
            "BATCHKERNEL_OPENAI__API_KEY",
            f'@json {{"key": "{SECRET}"}}',
            "must be a string",
        ),
        (
            "telemetry.headers",
            f'[default.telemetry]\nheaders = "authorization=Bearer {SECRET}"\n',
            "BATCHKERNEL_TELEMETRY__HEADERS",
            f"authorization=Bearer {SECRET}",
            "must be a table",
        ),
        (
            "cache.redis_url",
            f'[default.cache]\nredis_url = "http://bk:{SECRET}@cache.internal:6379/0"\n',
            "BATCHKERNEL_CACHE__REDIS_URL",
            f"http://bk:{SECRET}@cache.internal:6379/0",
            "http://bk:***@cache.internal:6379/0",
        ),
    ],
    ids=["serve.tokens", "openai.api_key", "telemetry.headers", "cache.redis_url"],
)
@pytest.mark.parametrize("source", ["settings file", "environment"])
def test_validation_errors_name_the_key_and_never_print_a_secret(
    tmp_path: Any,
    monkeypatch: Any,
    source: str,
    key: str,
    toml: str,
    variable: str,
    env_value: str,
    expected: str,
) -> None:
    if source == "settings file":
        user = tmp_path / "settings.toml"
        user.write_text(toml)
        monkeypatch.setenv("BATCHKERNEL_SETTINGS_FILE", str(user))
    else:
        monkeypatch.setenv(variable, env_value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert key in message and expected in message, message
    assert SECRET not in message and SECRET[:8] not in message, message
    assert "<class" not in message and "is_type_of" not in message, message
    assert info.value.__cause__ is None and SECRET not in repr(info.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"processing.chunk_size": "many"},
            "processing.chunk_size must be a whole number from 1 to 50000",
        ),
        ({"plugins.exporters": "otel"}, "plugins.exporters must be a list (got 'otel')"),
        ({"plugins.strict": "yes"}, "plugins.strict must be true or false (got 'yes')"),
        ({"database.url": ""}, "database.url must be a non-empty string"),
        ({"openai.base_url": "ftp://x"}, "openai.base_url must be a string starting with 'http'"),
    ],
)
def test_validation_errors_say_the_expected_type_in_plain_words(
    overrides: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(overrides)
    assert expected in str(info.value)


def test_a_password_in_any_url_is_masked_in_messages() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"database.url": ["postgresql+psycopg://bk:" + SECRET + "@db:5432/bk"]})
    message = str(info.value)
    assert "database.url must be a non-empty string" in message
    assert "postgresql+psycopg://bk:***@db:5432/bk" in message and SECRET not in message


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("redis://user:pw@host:6379/0", "redis://user:***@host:6379/0"),
        ("redis://:pw@host", "redis://:***@host"),
        ("https://tok3n@example.com/x", "https://***@example.com/x"),
        ("postgresql://h/db?user=bk&password=pw", "postgresql://h/db?user=bk&password=***"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ],
)
def test_mask_url(text: str, masked: str) -> None:
    assert mask_url(text) == masked


def test_shown_hides_secrets_and_nested_secrets() -> None:
    assert shown([{"token": "x" * 30}], secret=True) == "a list, value hidden"
    assert shown("", secret=True) == "''"
    assert "hunter2" not in shown([{"password": "hunter2"}], secret=False)
