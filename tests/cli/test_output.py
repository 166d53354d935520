"""What the commands print is readable: tables at 80 columns and when piped, no raw structures,
whole sentences, right plurals, and the demo says what to try next."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from plugins.common.synthetic import write_jsonl
from plugins.emulator import EmulatorConfig, EmulatorServer
from tests.cli.support import batchkernel, clean_env
from tests.support.shared import built_once


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A SQLite database whose 40 requests went through the whole pipeline (built once a run)."""
    path, env = built_once(tmp_path_factory, "cli-output-processed", process)
    return Path(path), env


def process(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """Import 40 sessions into a SQLite file in ``tmp_path`` and run them through the emulator."""
    with EmulatorServer(EmulatorConfig()).start() as server:
        env = clean_env(
            tmp_path,
            BATCHKERNEL_DATABASE__URL=f"sqlite:///{tmp_path / 'done.db'}",
            BATCHKERNEL_BATCH__MIN_BATCH_SIZE="1",
            OPENAI_BASE_URL=server.base_url,
        )
        source = write_jsonl(tmp_path / "s.jsonl", 3, 40)
        assert batchkernel("import", str(source), env=env, cwd=tmp_path).returncode == 0
        ran = batchkernel("run", "--until-idle", env=env, cwd=tmp_path)
        assert ran.returncode == 0, ran.stderr
    return str(tmp_path), env


@pytest.mark.parametrize("command", ["costs", "status"])
@pytest.mark.parametrize("columns", ["80", None])
def test_tables_fit_80_columns_and_are_whole_when_piped(
    processed: tuple[Path, dict[str, str]], command: str, columns: str | None
) -> None:
    tmp_path, env = processed
    env = dict(env)
    if columns is None:
        env.pop("COLUMNS")
    else:
        env["COLUMNS"] = columns
    result = batchkernel(command, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "…" not in result.stdout, result.stdout
    if columns:
        assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout
    assert "{" not in result.stdout and "'" not in result.stdout, result.stdout


def test_costs_piped_shows_every_column(processed: tuple[Path, dict[str, str]]) -> None:
    tmp_path, env = processed
    env = {key: value for key, value in env.items() if key != "COLUMNS"}
    result = batchkernel("costs", env=env, cwd=tmp_path)
    for header in ("sync $", "saved $", "estimate $", "actual $", "est. err"):
        assert header in result.stdout
    assert "0.0…" not in result.stdout


def test_status_shows_plugin_sections_as_labelled_lines(
    processed: tuple[Path, dict[str, str]],
) -> None:
    tmp_path, env = processed
    result = batchkernel("status", env=env, cwd=tmp_path)
    lines = result.stdout.splitlines()
    tracker = [line for line in lines if "fallback tracker fetch_pending" in line]
    assert len(tracker) == 1 and "path optimized" in tracker[0]
    assert any("breakers create" in line and "state closed" in line for line in lines)
    assert "stopped, last beat" in result.stdout


def test_import_reports_bad_lines_in_whole_sentences_and_fails(tmp_path: Path) -> None:
    env = clean_env(tmp_path, BATCHKERNEL_DATABASE__URL=f"sqlite:///{tmp_path / 'i.db'}")
    env["COLUMNS"] = "80"
    source = write_jsonl(tmp_path / "s.jsonl", 2, 10)
    with source.open("a") as handle:
        handle.write("not json\n")
    result = batchkernel("import", str(source), env=env, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("line 11: not valid JSON")
    assert lines[1].startswith("11 lines read: 10 sessions created")
    assert lines[2] == "10 requests enqueued, 2 companies created"
    assert lines[3].startswith("1 bad line skipped: fix them and import the file again")


def test_demo_ends_with_the_next_commands_for_its_database(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    result = batchkernel("demo", "--companies", "2", "--sessions", "20", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "1 misses" not in result.stdout and "1 hits" not in result.stdout
    suggested = [
        line.split("#")[0].strip()
        for line in result.stdout.splitlines()
        if line.strip().startswith("batchkernel ") and "--database" in line
    ]
    assert "batchkernel status --database 'sqlite:///.batchkernel/demo/demo.db'" in suggested
    assert any(
        "SELECT external_id, sentiment, category, summary" in line
        for line in result.stdout.splitlines()
    )
    status = batchkernel(*shlex.split(suggested[0])[1:], env=env, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "PROCESSING_COMPLETE" in status.stdout
