"""The ``batchkernel`` command: help for every command, honest "not built", real runs in processes of their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from plugins.cli.main import build_app
from plugins.common.synthetic import write_jsonl
from plugins.emulator import EmulatorConfig, EmulatorServer
from tests.support.forkserver import run_cli

app = build_app([])

COMMANDS = ["demo", "run", "import", "status", "plugins", "serve", "emulator", "bench", "costs"]
runner = CliRunner()


def cli_env(tmp_path: Path, db_url: str, **extra: str) -> dict[str, str]:
    """Environment for a subprocess run: database, work directory, fast settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHKERNEL_")}
    env |= {
        "BATCHKERNEL_DATABASE__URL": db_url,
        "BATCHKERNEL_BATCH__WORKDIR": str(tmp_path / "files"),
        "BATCHKERNEL_BATCH__MIN_BATCH_SIZE": "1",
        "BATCHKERNEL_PLUGINS__AUTOLOAD": "false",
        "OPENAI_API_KEY": "sk-test-secret-value",
    }
    return env | extra


def batchkernel(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m kernel`` like a user would."""
    return run_cli(args, env=env, timeout=timeout)


@pytest.mark.parametrize(
    "command", [*COMMANDS, "db upgrade", "companies list", "companies set-status"]
)
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_db_upgrade_import_and_plugins(tmp_path: Path, db_url: str) -> None:
    env = cli_env(tmp_path, db_url)
    upgraded = batchkernel("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "revision 0008" in upgraded.stderr
    source = write_jsonl(tmp_path / "s.jsonl", 2, 20)
    with source.open("ab") as handle:
        handle.write(b"garbage\n")
    imported = batchkernel("import", str(source), env=env)
    assert imported.returncode == 1, imported.stderr
    assert "line 21: not valid JSON" in imported.stderr
    assert "20 sessions created" in imported.stderr
    listed = batchkernel("plugins", env=env | {"COLUMNS": "200"})
    assert listed.returncode == 0, listed.stderr
    assert "original" in listed.stdout and "fetch_pending" in listed.stdout


def test_unknown_plugin_stops_start_up_with_the_valid_names(
    tmp_path: Path, sqlite_url: str
) -> None:
    env = cli_env(tmp_path, sqlite_url, BATCHKERNEL_PLUGINS__PROCESSOR="turbo")
    result = batchkernel("plugins", env=env)
    assert result.returncode == 2
    assert "unknown plugin 'turbo'" in result.stderr and "original" in result.stderr


def test_run_until_idle_processes_everything_and_never_logs_the_key(
    tmp_path: Path, db_url: str
) -> None:
    with EmulatorServer(EmulatorConfig(first_429={"batches.create": 1})).start() as server:
        env = cli_env(
            tmp_path,
            db_url,
            BATCHKERNEL_OPENAI__BASE_URL=server.base_url,
            BATCHKERNEL_OPENAI__BACKOFF_BASE_SECONDS="0.01",
        )
        source = write_jsonl(tmp_path / "s.jsonl", 3, 45)
        assert batchkernel("import", str(source), env=env).returncode == 0
        result = batchkernel(
            "run", "--until-idle", env=env | {"BATCHKERNEL_PLUGINS__TRACE": "true"}
        )
        assert result.returncode == 0, result.stderr
        assert "sk-test-secret-value" not in result.stdout + result.stderr
        assert len(server.ledger()["batches"]) == 3


def test_run_until_idle_fails_with_a_reason_when_it_cannot_finish(
    tmp_path: Path, sqlite_url: str
) -> None:
    env = cli_env(
        tmp_path,
        sqlite_url,
        BATCHKERNEL_OPENAI__BASE_URL="http://127.0.0.1:9/v1",
        BATCHKERNEL_OPENAI__MAX_RETRIES="0",
        BATCHKERNEL_SCHEDULER__IDLE_TIMEOUT_SECONDS="2",
    )
    source = write_jsonl(tmp_path / "s.jsonl", 1, 5)
    assert batchkernel("import", str(source), env=env).returncode == 0
    result = batchkernel("run", "--until-idle", "--no-provider-check", env=env)
    assert result.returncode == 1
    assert "not idle" in result.stderr


def test_run_until_idle_stops_at_once_with_the_reason_when_the_quota_is_spent(
    tmp_path: Path, sqlite_url: str
) -> None:
    with EmulatorServer(EmulatorConfig(insufficient_quota=True)).start() as server:
        env = cli_env(
            tmp_path,
            sqlite_url,
            BATCHKERNEL_OPENAI__BASE_URL=server.base_url,
            BATCHKERNEL_SCHEDULER__IDLE_TIMEOUT_SECONDS="3600",
        )
        source = write_jsonl(tmp_path / "s.jsonl", 1, 5)
        assert batchkernel("import", str(source), env=env).returncode == 0
        result = batchkernel("run", "--until-idle", env=env)
    assert result.returncode == 1
    output = " ".join((result.stdout + result.stderr).split())
    assert "not idle: 5 requests pending, no batch can be created" in output
    assert "paused (quota)" in output and "exceeded your current quota" in output


def test_run_stops_cleanly_on_sigterm(tmp_path: Path, sqlite_url: str) -> None:
    with EmulatorServer(EmulatorConfig()).start() as server:
        env = cli_env(
            tmp_path,
            sqlite_url,
            BATCHKERNEL_OPENAI__BASE_URL=server.base_url,
            BATCHKERNEL_SCHEDULER__APPLY_INTERVAL_SECONDS="0.2",
            BATCHKERNEL_SCHEDULER__POLL_INTERVAL_SECONDS="0.2",
            BATCHKERNEL_SCHEDULER__CREATE_INTERVAL_SECONDS="0.2",
        )
        source = write_jsonl(tmp_path / "s.jsonl", 2, 10)
        assert batchkernel("import", str(source), env=env).returncode == 0
        process = subprocess.Popen(
            [sys.executable, "-m", "kernel", "run"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(server.ledger()["batches"]) < 2:
            time.sleep(0.1)
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert "stopping after the current step" in err


def test_demo_runs_from_the_command_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHKERNEL_")}
    result = run_cli(
        ["demo", "--companies", "3", "--sessions", "60"],
        env=env | {"COLUMNS": "200"},
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "PROCESSING_COMPLETE" in result.stdout and "60" in result.stdout
    assert "database queries" in result.stdout


def test_python_dash_m_kernel_matches_the_console_script(tmp_path: Path, sqlite_url: Any) -> None:
    result = batchkernel("--help", env=cli_env(tmp_path, sqlite_url))
    assert result.returncode == 0 and "demo" in result.stdout


def test_python_dash_m_kernel_says_so_when_the_package_is_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import kernel.__main__ as entry

    def missing(name: str) -> None:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(entry, "distribution", missing)
    with pytest.raises(SystemExit) as stopped:
        entry.main()
    assert str(stopped.value.code) == (
        "python -m kernel: the batchkernel package is not installed (pip install -e .)"
    )
