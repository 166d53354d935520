"""``batchkernel run`` as an operator meets it: it checks before claiming, says what it runs and
what each cycle did, stops cleanly on signals in every mode, and ends with the reason when it
cannot go on. Real subprocesses, real databases, the emulator over loopback HTTP."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from plugins.common.synthetic import write_jsonl
from plugins.emulator import EmulatorConfig, EmulatorServer
from tests.cli.support import SECRET, batchkernel, clean_env, closed_port

FAKE_DIST = Path(__file__).parent.parent / "data" / "fake-plugin"


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """The emulator on a free loopback port."""
    with EmulatorServer(EmulatorConfig()).start() as server:
        yield server


def imported(tmp_path: Path, db_url: str, sessions: int = 30, **extra: str) -> dict[str, str]:
    """An environment on ``db_url`` whose database holds ``sessions`` pending requests."""
    env = clean_env(
        tmp_path,
        BATCHKERNEL_DATABASE__URL=db_url,
        BATCHKERNEL_BATCH__MIN_BATCH_SIZE="1",
        **extra,
    )
    source = write_jsonl(tmp_path / "sessions.jsonl", 3, sessions)
    result = batchkernel("import", str(source), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return env


def counts(db_url: str, sql: str) -> dict[str, int]:
    """``status -> count`` from a ``GROUP BY status`` query."""
    engine = sa.create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return {row[0]: row[1] for row in conn.execute(sa.text(sql))}
    finally:
        engine.dispose()


REQUESTS = "SELECT status, count(*) FROM ai_processing_requests GROUP BY status"
BATCHES = "SELECT status, count(*) FROM ai_batch_requests GROUP BY status"
INSTANCES = "SELECT CASE WHEN stopped_at IS NULL THEN 'running' ELSE 'stopped' END, count(*) FROM scheduler_instances GROUP BY 1"


def test_run_without_a_key_stops_before_claiming_anything(tmp_path: Path, db_url: str) -> None:
    env = imported(tmp_path, db_url)
    env.pop("OPENAI_API_KEY")
    for mode in ("--until-idle", "--once"):
        result = batchkernel("run", mode, env=env, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert "openai.api_key is empty" in result.stderr and "OPENAI_API_KEY" in result.stderr
    assert counts(db_url, REQUESTS) == {"PENDING_BATCHING": 30}
    assert counts(db_url, BATCHES) == {}


def test_run_checks_the_provider_endpoint_and_names_it(tmp_path: Path, sqlite_url: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    env = imported(tmp_path, sqlite_url, OPENAI_BASE_URL=url, BATCHKERNEL_OPENAI__MAX_RETRIES="0")
    result = batchkernel("run", "--once", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert f"cannot reach {url}" in result.stderr and "OPENAI_BASE_URL" in result.stderr
    assert counts(sqlite_url, BATCHES) == {}

    skipped = batchkernel("run", "--once", "--no-provider-check", env=env, cwd=tmp_path)
    assert "Traceback" not in skipped.stderr
    assert f"at {url} failed (connection)" in skipped.stderr, skipped.stderr


def test_a_misconfiguration_found_while_submitting_stops_creation(
    tmp_path: Path, db_url: str, emulator: EmulatorServer
) -> None:
    env = imported(
        tmp_path,
        db_url,
        BATCHKERNEL_OPENAI__BASE_URL=emulator.base_url,
        BATCHKERNEL_PLUGINS__ENABLED='["fake-late-config"]',
        BATCHKERNEL_TEST_LATE_CONFIG_ERROR="1",
        PYTHONPATH=str(FAKE_DIST),
    )
    once = batchkernel("run", "--once", env=env, cwd=tmp_path)
    assert once.returncode == 1, once.stderr
    assert "error: task create failed" in once.stderr and "fake.licence is missing" in once.stderr
    idle = batchkernel("run", "--until-idle", env=env, cwd=tmp_path)
    assert idle.returncode == 1, idle.stderr
    assert "fake.licence is missing" in idle.stderr.splitlines()[-1]
    assert "Traceback" not in once.stderr + idle.stderr
    # Nothing reached the provider; every claimed request went back to the queue at once.
    assert emulator.ledger()["batches"] == []
    assert counts(db_url, REQUESTS) == {"PENDING_BATCHING": 30}
    assert "PLANNED" not in counts(db_url, BATCHES)

    env.pop("BATCHKERNEL_TEST_LATE_CONFIG_ERROR")
    fixed = batchkernel("run", "--until-idle", env=env, cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    assert counts(db_url, REQUESTS) == {"PROCESSING_COMPLETE": 30}


def test_run_says_what_it_runs_and_what_each_cycle_did(
    tmp_path: Path, db_url: str, emulator: EmulatorServer
) -> None:
    env = imported(tmp_path, db_url, OPENAI_BASE_URL=emulator.base_url)
    result = batchkernel("run", "--until-idle", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    banner = next(line for line in lines if "run --until-idle:" in line)
    assert "INFO" in banner and banner[:4].isdigit()  # a timestamp first
    assert f"provider openai at {emulator.base_url} (key set)" in banner
    assert "processor optimized" in banner and "plugins " in banner and "database " in banner
    assert any("cycle 1: claimed 30 requests into" in line for line in lines), result.stderr
    assert "completed 30" in lines[-1] and "left: 0 pending, 0 in flight" in lines[-1]
    assert SECRET not in result.stderr


def test_json_logs_quiet_and_log_level(
    tmp_path: Path, sqlite_url: str, emulator: EmulatorServer
) -> None:
    env = imported(tmp_path, sqlite_url, OPENAI_BASE_URL=emulator.base_url)
    logged = batchkernel(
        "run", "--until-idle", env=env | {"BATCHKERNEL_LOG__FORMAT": "json"}, cwd=tmp_path
    )
    assert logged.returncode == 0, logged.stderr
    records = [json.loads(line) for line in logged.stderr.splitlines()]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    cycle = next(record for record in records if record.get("cycle") == 1)
    assert cycle["claimed"] == 30 and cycle["level"] == "info"
    assert records[-1]["completed"] == 30 and records[-1]["pending"] == 0

    again = write_jsonl(tmp_path / "more.jsonl", 1, 5, seed=99)
    assert batchkernel("import", str(again), env=env, cwd=tmp_path).returncode == 0
    quiet = batchkernel("run", "--until-idle", "--quiet", env=env, cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    warned = batchkernel("--log-level", "warning", "run", "--once", env=env, cwd=tmp_path)
    assert warned.returncode == 0 and warned.stderr == "", warned.stderr
    debug = batchkernel("run", "--once", "--log-level", "debug", env=env, cwd=tmp_path)
    assert "DEBUG" in debug.stderr


def test_version_and_short_help(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    version = batchkernel("--version", env=env, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("batchkernel 0.")
    for args in (["-h"], ["run", "-h"]):
        helped = batchkernel(*args, env=env, cwd=tmp_path)
        assert helped.returncode == 0 and "Usage" in helped.stdout
    assert "--log-level" in batchkernel("-h", env=env, cwd=tmp_path).stdout
    assert "--no-provider-check" in batchkernel("run", "-h", env=env, cwd=tmp_path).stdout


@pytest.mark.parametrize(
    ("mode", "signum"),
    [
        ("--until-idle", signal.SIGTERM),
        ("--until-idle", signal.SIGINT),
        ("", signal.SIGTERM),
        ("", signal.SIGINT),
    ],
)
def test_every_mode_stops_cleanly_on_a_signal(
    tmp_path: Path, sqlite_url: str, mode: str, signum: signal.Signals
) -> None:
    config = EmulatorConfig(in_progress_seconds=600)
    with EmulatorServer(config).start() as server:
        env = imported(
            tmp_path,
            sqlite_url,
            OPENAI_BASE_URL=server.base_url,
            BATCHKERNEL_SCHEDULER__POLL_INTERVAL_SECONDS="0.2",
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "kernel", "run", *([mode] if mode else [])],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not _submitted_all(sqlite_url, 30):
                assert process.poll() is None, process.communicate()[1]
                time.sleep(0.2)
            process.send_signal(signum)
            _out, err = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, err
    assert f"{signum.name} received; stopping after the current step" in err
    assert "stopped on request" in err and "Traceback" not in err
    assert counts(sqlite_url, INSTANCES) == {"stopped": 1}
    leases = counts(
        sqlite_url, "SELECT task, count(*) FROM task_leases WHERE owner IS NOT NULL GROUP BY task"
    )
    assert leases == {}
    status = batchkernel("status", "--json", env=env, cwd=tmp_path)
    scheduler = json.loads(status.stdout)["scheduler"]
    assert scheduler["live"] == 0 and scheduler["instances"][0]["stopped_at"]


def _submitted_all(db_url: str, requests: int) -> bool:
    """Whether every request is in a batch the provider accepted."""
    try:
        in_flight = counts(db_url, REQUESTS).get("BATCHING_IN_PROGRESS", 0)
        planned = counts(db_url, BATCHES).get("PLANNED", 0)
    except sa.exc.OperationalError:
        return False
    return in_flight == requests and planned == 0


def test_run_once_records_its_stop(
    tmp_path: Path, sqlite_url: str, emulator: EmulatorServer
) -> None:
    env = imported(tmp_path, sqlite_url, OPENAI_BASE_URL=emulator.base_url)
    result = batchkernel("run", "--once", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "finished in" in result.stderr.splitlines()[-1]
    assert counts(sqlite_url, INSTANCES) == {"stopped": 1}
    status = batchkernel("status", env=env, cwd=tmp_path)
    assert "stopped, last beat" in status.stdout and "live, last beat" not in status.stdout


def test_plugin_tracing_is_shown(tmp_path: Path) -> None:
    env = clean_env(tmp_path, BATCHKERNEL_TRACE_PLUGINS="1")
    result = batchkernel("plugins", env=env, cwd=tmp_path)
    assert result.returncode == 0
    assert "DEBUG   batchkernel.plugins: registered openai" in result.stderr
