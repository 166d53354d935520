"""``batchkernel settings`` as a user runs it (``python -m kernel settings``, forked from the fork
server): values, sources, masked secrets, JSON, errors, and the reference in docs/settings.md."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.forkserver import run_cli

ROOT = Path(__file__).resolve().parents[2]
FAKE_PLUGIN = ROOT / "tests" / "data" / "fake-plugin"
SECRET = "sk-LEAKY-s3cr3t-0123456789"


def run(
    tmp_path: Path, *args: str, third_party: bool = False, **variables: str
) -> subprocess.CompletedProcess[str]:
    """Run ``batchkernel settings ARGS`` in an empty directory with only ``variables`` set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHKERNEL_")}
    env.pop("OPENAI_API_KEY", None)
    env.pop("PYTHONPATH", None)
    if third_party:
        env["PYTHONPATH"] = str(FAKE_PLUGIN)
    return run_cli(["settings", *args], env=env | variables, cwd=tmp_path, timeout=120)


def text_rows(output: str) -> dict[str, tuple[str, str]]:
    """``section.key`` -> (value as printed, source) from the text output."""
    rows: dict[str, tuple[str, str]] = {}
    section = ""
    for line in output.splitlines():
        if line.startswith("["):
            section = line.split("]")[0].strip("[")
        elif " = " in line and "  # " in line:
            left, source = line.rsplit("  # ", 1)
            key, value = left.split(" = ", 1)
            rows[f"{section}.{key.strip()}"] = (value.strip(), source.strip())
    return rows


def test_text_shows_values_sources_and_masks_secrets(tmp_path: Path) -> None:
    user = tmp_path / "mine.toml"
    user.write_text(
        "[default.batch]\nmin_batch_size = 4\n"
        f'[default.serve]\ntokens = [{{token = "{SECRET}", company = "acme"}}]\n'
    )
    result = run(
        tmp_path,
        "--database",
        f"postgresql+psycopg://bk:{SECRET}@db:5432/bk",
        BATCHKERNEL_SETTINGS_FILE=str(user),
        BATCHKERNEL_BATCH__MAX_REQUESTS_PER_BATCH="250",
        BATCHKERNEL_TELEMETRY__HEADERS=f'@json {{"authorization": "Bearer {SECRET}"}}',
        OPENAI_API_KEY=SECRET,
    )
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout and SECRET[:12] not in result.stdout
    rows = text_rows(result.stdout)
    assert rows["batch.max_requests_per_batch"] == (
        "250",
        "BATCHKERNEL_BATCH__MAX_REQUESTS_PER_BATCH",
    )
    assert rows["batch.min_batch_size"] == ("4", f"{user} [default]")
    assert rows["batch.max_attempts"] == ("3", "default")
    assert rows["database.url"] == ('"postgresql+psycopg://bk:***@db:5432/bk"', "command line")
    assert rows["openai.api_key"] == ('"***"', "OPENAI_API_KEY")
    assert rows["serve.tokens"] == ('"***"', f"{user} [default]")
    assert rows["telemetry.headers"] == ('"***"', "BATCHKERNEL_TELEMETRY__HEADERS")
    assert "# environment: development" in result.stdout


def test_json_gives_value_source_kind_and_origin(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        "--json",
        BATCHKERNEL_ENV="production",
        BATCHKERNEL_OPENAI__API_KEY=SECRET,
        BATCHKERNEL_SCHEDULER__POLL_INTERVAL_SECONDS="30",
    )
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout
    data: dict[str, Any] = json.loads(result.stdout)
    assert data["environment"] == "production"
    settings = data["settings"]
    assert settings["scheduler.poll_interval_seconds"] == {
        "value": 30,
        "source": "environment",
        "origin": "BATCHKERNEL_SCHEDULER__POLL_INTERVAL_SECONDS",
        "secret": False,
        "plugins": ["kernel"],
    }
    assert settings["openai.api_key"]["value"] == "***" and settings["openai.api_key"]["secret"]
    assert settings["database.url"]["source"] == "file"
    assert settings["database.url"]["origin"].endswith("settings.toml [production]")
    assert settings["cache.ttl_seconds"]["plugins"] == ["cache-disk", "cache-memory", "cache-redis"]
    assert settings["batch.company_weights"]["plugins"] == ["budget"]


def test_an_unknown_variable_fails_with_the_suggestion(tmp_path: Path) -> None:
    result = run(tmp_path, BATCHKERNEL_BATCH__MAX_REQUEST_PER_BATCH="10")
    assert result.returncode == 2
    assert "BATCHKERNEL_BATCH__MAX_REQUEST_PER_BATCH" in result.stderr
    assert "did you mean BATCHKERNEL_BATCH__MAX_REQUESTS_PER_BATCH?" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_bad_secret_is_reported_without_its_value(tmp_path: Path) -> None:
    result = run(tmp_path, BATCHKERNEL_SERVE__TOKENS=SECRET)
    assert result.returncode == 2
    assert "serve.tokens must be a list (got a string, value hidden)" in result.stderr
    assert SECRET not in result.stderr


def test_a_third_party_section_is_shown_with_its_plugin(tmp_path: Path) -> None:
    result = run(tmp_path, "--json", third_party=True, BATCHKERNEL_FAKE__LICENSE_KEY=SECRET)
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)["settings"]
    assert settings["fake.greeting"] == {
        "value": "hello",
        "source": "default",
        "origin": "default",
        "secret": False,
        "plugins": ["fake-configured"],
    }
    assert settings["fake.license_key"]["value"] == "***" and SECRET not in result.stdout


def test_the_reference_in_docs_is_generated_from_the_declarations(tmp_path: Path) -> None:
    result = run(tmp_path, "--reference", third_party=True)
    assert result.returncode == 0, result.stderr
    documented = (ROOT / "docs" / "settings.md").read_text()
    assert result.stdout == documented, (
        "docs/settings.md is stale: run `batchkernel settings --reference > docs/settings.md`"
    )
    assert "fake" not in result.stdout, "the reference lists built-in plugins only"


@pytest.mark.parametrize("flag", ["--help"])
def test_the_command_has_help(tmp_path: Path, flag: str) -> None:
    result = run(tmp_path, flag)
    assert result.returncode == 0 and "source" in result.stdout
