"""Settings: shipped defaults, environment overrides, the seed's flags, validation messages."""

from __future__ import annotations

from typing import Any

import pytest

from kernel.settings import load_settings
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
