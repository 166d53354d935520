"""Each setting's source (default, a file and its table, a variable, the command line) and the
precedence between them, as ``batchkernel settings`` names them."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.settings import default_settings_file, load_settings, read_settings
from plugins.settings_command.view import Effective, effective


def effective_settings(**kwargs: object) -> dict[str, Effective]:
    """Every setting as loaded, by dotted key."""
    loaded = read_settings(**kwargs)  # type: ignore[arg-type]
    return {item.declared.dotted: item for item in effective(loaded)}


def test_untouched_settings_come_from_their_declaration() -> None:
    item = effective_settings()["batch.max_requests_per_batch"]
    assert (item.value, item.source.kind, item.origin) == (1000, "default", "default")
    assert item.declared.owners == ("original", "optimized")


def test_a_file_names_its_path_and_table(tmp_path: Path) -> None:
    user = tmp_path / "mine.toml"
    user.write_text("[default.batch]\nmin_batch_size = 4\n[development.batch]\nmax_attempts = 7\n")
    found = effective_settings(settings_file=user)
    assert found["batch.min_batch_size"].origin == f"{user} [default]"
    assert found["batch.max_attempts"].origin == f"{user} [development]"
    assert found["batch.max_attempts"].value == 7 and found["batch.min_batch_size"].value == 4


def test_the_shipped_production_table_is_a_source() -> None:
    item = effective_settings(environment="production")["database.url"]
    assert item.value.startswith("postgresql+psycopg://")
    assert item.origin == f"{default_settings_file()} [production]"


def test_the_user_file_wins_over_the_shipped_one_and_its_environment(tmp_path: Path) -> None:
    user = tmp_path / "mine.toml"
    user.write_text('[default.database]\nurl = "sqlite:///mine.db"\n')
    item = effective_settings(settings_file=user, environment="production")["database.url"]
    assert item.value == "sqlite:///mine.db" and item.source.kind == "file"


def test_variables_win_over_files_and_the_command_line_over_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tmp_path / "mine.toml"
    user.write_text("[default.batch]\nmin_batch_size = 4\nmax_attempts = 5\n")
    monkeypatch.setenv("BATCHKERNEL_BATCH__MIN_BATCH_SIZE", "8")
    monkeypatch.setenv("BATCHKERNEL_BATCH__MAX_ATTEMPTS", "6")
    found = effective_settings(settings_file=user, overrides={"batch.max_attempts": 9})
    assert found["batch.min_batch_size"].value == 8
    assert found["batch.min_batch_size"].origin == "BATCHKERNEL_BATCH__MIN_BATCH_SIZE"
    assert found["batch.max_attempts"].value == 9
    assert found["batch.max_attempts"].origin == "command line"


def test_the_seed_flags_and_the_trace_variable_are_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHKERNEL_PROCESSING__ENABLE_BATCH_OPERATIONS", "true")
    monkeypatch.setenv("ENABLE_BATCH_OPERATIONS", "false")
    monkeypatch.setenv("BATCHKERNEL_TRACE_PLUGINS", "1")
    found = effective_settings()
    flag = found["processing.enable_batch_operations"]
    assert flag.value is False and flag.origin == "ENABLE_BATCH_OPERATIONS"
    assert found["plugins.trace"].value is True
    assert found["plugins.trace"].origin == "BATCHKERNEL_TRACE_PLUGINS"


def test_the_standard_api_key_variable_fills_an_empty_key_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-standard")
    item = effective_settings()["openai.api_key"]
    assert item.value == "sk-standard" and item.origin == "OPENAI_API_KEY"
    monkeypatch.setenv("BATCHKERNEL_OPENAI__API_KEY", "sk-ours")
    item = effective_settings()["openai.api_key"]
    assert item.value == "sk-ours" and item.origin == "BATCHKERNEL_OPENAI__API_KEY"


def test_lists_are_replaced_and_tables_merged_across_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = tmp_path / "mine.toml"
    user.write_text(
        '[default.emulator]\nchaos_operations = ["files.create", "batches.create"]\n'
        '[default.prices.providers.openai.models."gpt-9"]\ninput = 0.05\noutput = 0.4\n'
    )
    monkeypatch.setenv("BATCHKERNEL_EMULATOR__CHAOS_OPERATIONS", '["files.delete"]')
    settings = load_settings(settings_file=user)
    assert list(settings.emulator.chaos_operations) == ["files.delete"]
    openai = set(settings.prices.providers.openai.models)
    assert {"gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-9"} <= openai
    assert "claude-haiku-4-5" in settings.prices.providers.anthropic.models


def test_changing_a_value_at_run_time_replaces_a_list() -> None:
    settings = load_settings()
    settings.set("serve.tokens", [{"token": "a" * 32}])
    settings.set("serve.tokens", [{"token": "b" * 32}])
    assert [entry["token"] for entry in settings.serve.tokens] == ["b" * 32]
