"""Unknown sections, keys, environments, variables and plugin names are errors that name the key
and suggest the closest valid one; keys of plugins that are installed but not enabled are not."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.settings import load_settings
from kernel.types import ConfigError


def settings_file(tmp_path: Path, text: str) -> Path:
    """A user settings file with ``text``."""
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path | None = None, text: str | None = None, **kwargs: object) -> str:
    """The message of the ConfigError that loading raises."""
    file = settings_file(tmp_path, text) if tmp_path is not None and text is not None else None
    with pytest.raises(ConfigError) as info:
        load_settings(settings_file=file, **kwargs)  # type: ignore[arg-type]
    return str(info.value)


def test_a_misspelt_variable_is_an_error_naming_the_right_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BATCHKERNEL_BATCH__MAX_REQUEST_PER_BATCH", "10")
    message = error_of()
    assert "batch.max_request_per_batch" in message
    assert "BATCHKERNEL_BATCH__MAX_REQUEST_PER_BATCH" in message
    assert "did you mean BATCHKERNEL_BATCH__MAX_REQUESTS_PER_BATCH?" in message


@pytest.mark.parametrize(
    ("variable", "suggestion"),
    [
        ("BATCHKERNEL_BATCH_MAX_REQUESTS_PER_BATCH", "BATCHKERNEL_BATCH__MAX_REQUESTS_PER_BATCH"),
        ("BATCHKERNEL_SETTING_FILE", "BATCHKERNEL_SETTINGS_FILE"),
        ("BATCHKERNEL_BACTH__MIN_BATCH_SIZE", "BATCHKERNEL_BATCH__MIN_BATCH_SIZE"),
        ("BATCHKERNEL_OPENAI__APIKEY", "BATCHKERNEL_OPENAI__API_KEY"),
    ],
)
def test_a_variable_that_names_no_setting_is_an_error(
    monkeypatch: pytest.MonkeyPatch, variable: str, suggestion: str
) -> None:
    monkeypatch.setenv(variable, "1")
    message = error_of()
    assert variable in message and f"did you mean {suggestion}?" in message, message


def test_a_variable_for_a_whole_section_is_checked_key_by_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BATCHKERNEL_MODEL", '@json {"name": "gpt-4o", "temprature": 0.5}')
    message = error_of()
    assert "model.temprature" in message and "BATCHKERNEL_MODEL__TEMPERATURE" in message


@pytest.mark.parametrize(
    "variable",
    [
        "BATCHKERNEL_ENV",
        "BATCHKERNEL_TRACE_PLUGINS",
        "BATCHKERNEL_CRASH_AT",
        "BATCHKERNEL_CHAOS_SEED",
        "BATCHKERNEL_TEST_POSTGRES",
        "BATCHKERNEL_TEST_ANYTHING_NEW",
    ],
)
def test_the_special_variables_are_not_settings_and_not_errors(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "development" if variable == "BATCHKERNEL_ENV" else "1")
    assert load_settings().batch.max_requests_per_batch == 1000


def test_an_unknown_key_in_a_file_names_the_file_and_the_right_key(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[default.batch]\nmax_request_per_batch = 10\n")
    assert "unknown setting batch.max_request_per_batch" in message
    assert str(tmp_path / "mine.toml") in message and "[default]" in message
    assert "did you mean [default.batch] max_requests_per_batch?" in message


def test_an_unknown_key_of_an_environment_table_is_an_error(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[production.scheduler]\npoll_intervall_seconds = 5\n")
    assert "scheduler.poll_intervall_seconds" in message and "[production]" in message
    assert "did you mean [production.scheduler] poll_interval_seconds?" in message


def test_a_key_in_the_wrong_section_points_at_its_section(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[default.batch]\nttl_seconds = 60\n")
    assert "did you mean [default.cache] ttl_seconds?" in message


def test_an_unknown_section_suggests_the_closest(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[default.budget]\ndaily_usd = 5\n")
    assert "unknown settings section budget" in message and "[default.budgets]" in message


def test_a_top_level_section_table_is_not_taken_for_an_environment(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[batch]\nmax_requests_per_batch = 10\n")
    assert "[batch] is not an environment" in message and "[default.batch]" in message


def test_a_top_level_table_of_plain_keys_is_an_error(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[bacth]\nmax_requests_per_batch = 10\n")
    assert "[bacth] is not an environment table" in message
    assert "did you mean [default.batch]?" in message


def test_a_top_level_key_is_an_error(tmp_path: Path) -> None:
    message = error_of(tmp_path, "max_requests_per_batch = 10\n")
    assert "the top-level key max_requests_per_batch is not an environment table" in message


def test_an_environment_of_the_user_file_can_be_chosen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = settings_file(tmp_path, "[staging.batch]\nmax_requests_per_batch = 42\n")
    monkeypatch.setenv("BATCHKERNEL_ENV", "staging")
    assert load_settings(settings_file=path).batch.max_requests_per_batch == 42


def test_an_unknown_environment_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHKERNEL_ENV", "prod")
    message = error_of()
    assert "BATCHKERNEL_ENV=prod names no environment" in message
    assert "did you mean production?" in message
    assert "default, development, production" in message


def test_an_unknown_environment_given_in_code_is_an_error() -> None:
    assert "did you mean development?" in error_of(environment="develop")


def test_an_unknown_plugin_in_disabled_is_an_error() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"plugins.disabled": ["budgte"]})
    message = str(info.value)
    assert "plugins.disabled names an unknown plugin 'budgte'" in message
    assert "did you mean 'budget'?" in message


@pytest.mark.parametrize(
    ("key", "value", "suggestion"),
    [
        ("plugins.cache", "cache-disc", "cache-disk"),
        ("plugins.exporters", ["otl"], "otel"),
        ("plugins.enabled", ["serv"], "serve"),
    ],
)
def test_every_plugin_name_setting_is_checked(key: str, value: object, suggestion: str) -> None:
    with pytest.raises(ConfigError, match=f"did you mean '{suggestion}'"):
        load_settings({key: value})


def test_an_unknown_key_on_the_command_line_is_an_error() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"batch.max_request_per_batch": 10})
    message = str(info.value)
    assert "batch.max_request_per_batch (command line)" in message
    assert "did you mean batch.max_requests_per_batch?" in message


def test_every_problem_is_reported_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHKERNEL_MODEL__NAEM", "gpt-4o")
    message = error_of(tmp_path, "[default.batch]\nmin_batchsize = 1\n")
    assert "model.naem" in message and "batch.min_batchsize" in message
    assert len(message.splitlines()) == 3


def test_keys_of_installed_plugins_that_are_not_enabled_are_valid(tmp_path: Path) -> None:
    path = settings_file(
        tmp_path,
        '[default.plugins]\ncache = "cache-disk"\n'
        '[default.cache]\nredis_url = "redis://cache.internal:6379/2"\n'
        '[default.telemetry]\nexporter = "none"\nendpoint = "http://collector:4318"\n'
        "[default.emulator]\nrate_429 = 0.1\n",
    )
    settings = load_settings(settings_file=path)
    assert settings.cache.redis_url == "redis://cache.internal:6379/2"
    assert settings.telemetry.endpoint == "http://collector:4318"
    assert settings.emulator.rate_429 == 0.1


def test_the_runtime_flag_of_the_scheduler_is_no_setting() -> None:
    """The scheduler's run-time flag is not declared: the check must not rely on it."""
    with pytest.raises(ConfigError, match=r"unknown setting scheduler\.flush_small_batches"):
        load_settings({"scheduler.flush_small_batches": True})
