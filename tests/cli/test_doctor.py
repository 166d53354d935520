"""``batchkernel doctor``: one line per check, ✓ or ✗ with the fix, non-zero when one fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from plugins.emulator import EmulatorConfig, EmulatorServer
from tests.cli.support import SECRET, batchkernel, clean_env, closed_port


def doctor(tmp_path: Path, *args: str, **env: str) -> tuple[int, dict[str, str]]:
    """Run ``doctor``; its exit status and each check's line by name."""
    result = batchkernel("doctor", *args, env=clean_env(tmp_path, **env), cwd=tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    assert SECRET not in result.stdout + result.stderr
    lines = {}
    for line in result.stdout.splitlines():
        if line[:1] in "✓✗":
            name = line[2:].split(":", 1)[0]
            lines[name] = line
    return result.returncode, lines


def test_doctor_passes_on_a_ready_setup(tmp_path: Path, db_url: str) -> None:
    env = clean_env(tmp_path, BATCHKERNEL_DATABASE__URL=db_url)
    assert batchkernel("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    with EmulatorServer(EmulatorConfig()).start() as server:
        code, lines = doctor(
            tmp_path, BATCHKERNEL_DATABASE__URL=db_url, OPENAI_BASE_URL=server.base_url
        )
    assert code == 0, lines
    for name in ("settings", "plugins", "database", "schema", "provider key"):
        assert lines[name].startswith("✓"), lines
    assert (
        lines["provider reachable"].startswith("✓")
        and server.base_url in lines["provider reachable"]
    )
    assert lines["cache backend"].startswith("✓")
    assert lines["clocks"].startswith("✓")


def test_doctor_names_each_problem_and_its_fix(tmp_path: Path, sqlite_url: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    code, lines = doctor(tmp_path, BATCHKERNEL_DATABASE__URL=sqlite_url, OPENAI_BASE_URL=url)
    assert code == 1
    assert lines["database"].startswith("✗") and "batchkernel db upgrade" in lines["database"]
    assert (
        lines["provider reachable"].startswith("✗")
        and f"cannot reach {url}" in lines["provider reachable"]
    )
    assert "OPENAI_BASE_URL" in lines["provider reachable"]
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()

    env = clean_env(tmp_path)
    env.pop("OPENAI_API_KEY")
    result = batchkernel("doctor", "--no-provider-check", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "✗ provider key: openai.api_key is empty → set OPENAI_API_KEY" in result.stdout


def test_doctor_reports_settings_and_cache_problems(tmp_path: Path, sqlite_url: str) -> None:
    code, lines = doctor(tmp_path, BATCHKERNEL_SCHEDULER__LEASE_SECONDS="soon")
    assert code == 1 and lines["settings"].startswith("✗")
    assert "scheduler.lease_seconds" in lines["settings"]

    code, lines = doctor(
        tmp_path,
        "--no-provider-check",
        BATCHKERNEL_DATABASE__URL=sqlite_url,
        BATCHKERNEL_PLUGINS__CACHE="cache-redis",
        BATCHKERNEL_CACHE__REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0",
    )
    assert code == 1
    assert lines["cache backend"].startswith("✗") and "redis" in lines["cache backend"]


def test_doctor_finds_an_instance_whose_clock_is_ahead(tmp_path: Path, db_url: str) -> None:
    env = clean_env(tmp_path, BATCHKERNEL_DATABASE__URL=db_url)
    assert batchkernel("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    engine = sa.create_engine(db_url, poolclass=NullPool)
    ahead = datetime.now(UTC) + timedelta(minutes=3)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO scheduler_instances (id, host, pid, started_at, heartbeat_at, tasks, "
                "plugin_status) VALUES ('fast-host-1', 'fast', 1, :at, :at, '{}', '{}')"
            ),
            {"at": ahead.replace(tzinfo=None) if db_url.startswith("sqlite") else ahead},
        )
    engine.dispose()
    code, lines = doctor(tmp_path, "--no-provider-check", BATCHKERNEL_DATABASE__URL=db_url)
    assert code == 1
    assert lines["clocks"].startswith("✗") and "fast-host-1 is " in lines["clocks"]
    assert "s ahead of the database" in lines["clocks"]
    assert "NTP" in lines["clocks"]


def test_doctor_checks_the_anthropic_key_endpoint_and_model(
    tmp_path: Path, sqlite_url: str
) -> None:
    from plugins.emulator_anthropic import AnthropicEmulatorServer

    env = clean_env(tmp_path, BATCHKERNEL_DATABASE__URL=sqlite_url)
    assert batchkernel("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    with AnthropicEmulatorServer({"api_key": SECRET}) as server:
        settings = {
            "BATCHKERNEL_DATABASE__URL": sqlite_url,
            "BATCHKERNEL_PLUGINS__PROVIDER": "anthropic",
            "BATCHKERNEL_ANTHROPIC__BASE_URL": server.base_url,
            "ANTHROPIC_API_KEY": SECRET,
        }
        code, lines = doctor(tmp_path, **settings)
        assert code == 0, lines
        assert lines["provider reachable"].startswith("✓"), lines
        assert (
            lines["provider model"].startswith("✓")
            and "claude-haiku-4-5" in lines["provider model"]
        )
        code, lines = doctor(tmp_path, **settings, BATCHKERNEL_ANTHROPIC__MODEL="claude-typo!")
    assert code == 1
    assert lines["provider model"].startswith("✗") and "anthropic.model" in lines["provider model"]
