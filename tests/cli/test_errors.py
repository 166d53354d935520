"""Every mistake a user can make on the command line ends in one or two lines naming the cause and
the fix, with a non-zero exit status and no traceback (``--debug`` adds it); reading commands
never create a database file or directory."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.cli.support import batchkernel, clean_env, closed_port


@dataclass
class Case:
    """One mistake: the arguments, extra environment, and what the message must say."""

    args: list[str]
    expected: str
    env: dict[str, str] = field(default_factory=dict)
    postgres: bool = False


def _postgres(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("postgres_url"))


def _server(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("postgres_server_url"))


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port another socket listens on for the test's duration."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


NO_FILE = "does not exist: create it with `batchkernel db upgrade`"
NO_SCHEMA = "the database has no schema: run `batchkernel db upgrade`"

CASES: dict[str, Callable[[Path, pytest.FixtureRequest], Case]] = {
    "status before db upgrade": lambda tmp, req: Case(["status"], NO_FILE),
    "costs before db upgrade": lambda tmp, req: Case(["costs"], NO_FILE),
    "companies before db upgrade": lambda tmp, req: Case(["companies", "list"], NO_FILE),
    "run before db upgrade": lambda tmp, req: Case(["run", "--once"], NO_FILE),
    "status in a missing directory": lambda tmp, req: Case(
        ["status", "--database", f"sqlite:///{tmp / 'nodir' / 'x.db'}"], NO_FILE
    ),
    "status on an empty SQLite file": lambda tmp, req: Case(
        ["status", "--database", f"sqlite:///{_empty_sqlite(tmp)}"], NO_SCHEMA
    ),
    "costs on an empty SQLite file": lambda tmp, req: Case(
        ["costs", "--database", f"sqlite:///{_empty_sqlite(tmp)}"], NO_SCHEMA
    ),
    "companies on an empty SQLite file": lambda tmp, req: Case(
        ["companies", "list", "--database", f"sqlite:///{_empty_sqlite(tmp)}"], NO_SCHEMA
    ),
    "status on a PostgreSQL database without schema": lambda tmp, req: Case(
        ["status", "--database", _postgres(req)], NO_SCHEMA, postgres=True
    ),
    "run on a PostgreSQL database without schema": lambda tmp, req: Case(
        ["run", "--until-idle", "--database", _postgres(req)], NO_SCHEMA, postgres=True
    ),
    "unreachable PostgreSQL port": lambda tmp, req: Case(
        ["status", "--database", f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/x"],
        "(connection refused): start the server",
    ),
    "db upgrade on an unreachable PostgreSQL port": lambda tmp, req: Case(
        ["db", "upgrade", "--database", f"postgresql://u@127.0.0.1:{closed_port()}/x"],
        "(connection refused)",
    ),
    "missing PostgreSQL database": lambda tmp, req: Case(
        [
            "status",
            "--database",
            make_url(_server(req))
            .set(database="bk_no_such_database")
            .render_as_string(hide_password=False),
        ],
        "has no database 'bk_no_such_database': create it with `createdb",
        postgres=True,
    ),
    "bad database URL": lambda tmp, req: Case(
        ["status", "--database", "mysql://x@y/z"], "valid databases: sqlite, postgresql"
    ),
    "garbage database URL": lambda tmp, req: Case(
        ["status", "--database", "not a url"], "database.url is not a valid database URL"
    ),
    "import of a directory": lambda tmp, req: Case(["import", str(tmp)], "is a directory"),
    "import of a missing file": lambda tmp, req: Case(
        ["import", str(tmp / "missing.jsonl")], "does not exist"
    ),
    "broken settings file": lambda tmp, req: Case(
        ["status", "--settings", str(_write(tmp / "bad.toml", "[default\nx = 1\n"))],
        "is not valid TOML",
    ),
    "broken settings.toml in the working directory": lambda tmp, req: Case(
        ["status"], "is not valid TOML", env={"_WRITE_SETTINGS": "[default.database\n"}
    ),
    "missing settings file": lambda tmp, req: Case(
        ["status", "--settings", str(tmp / "nope.toml")], "does not exist"
    ),
    "bad setting type": lambda tmp, req: Case(
        ["status"],
        "scheduler.lease_seconds must be a number above 0 (got 'abc')",
        env={"BATCHKERNEL_SCHEDULER__LEASE_SECONDS": "abc"},
    ),
    "bad setting choice": lambda tmp, req: Case(
        ["run", "--once"], "log.format must be one of", env={"BATCHKERNEL_LOG__FORMAT": "xml"}
    ),
    "bad log level": lambda tmp, req: Case(
        ["status", "--log-level", "loud"], "--log-level 'loud' is not a level"
    ),
    "bad OPENAI_BASE_URL": lambda tmp, req: Case(
        ["status"], "set by OPENAI_BASE_URL", env={"OPENAI_BASE_URL": "ftp://example.com"}
    ),
    "emulator on a busy port": lambda tmp, req: Case(
        ["emulator", "--port", str(req.getfixturevalue("busy_port"))], "is already in use"
    ),
    "serve on a busy port": lambda tmp, req: Case(
        ["serve", "--port", str(req.getfixturevalue("busy_port"))],
        "already in use",
        env={
            "BATCHKERNEL_SERVE__TOKENS": '@json [{"token": "a-long-enough-test-token-0123456789"}]'
        },
    ),
}


def _empty_sqlite(tmp: Path) -> Path:
    """A SQLite file with a table of someone else's and no batchkernel schema."""
    path = tmp / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS unrelated (x INTEGER)")
    return path


def _write(path: Path, content: str) -> Path:
    path.write_text(content)
    return path


@pytest.mark.parametrize("name", list(CASES))
def test_a_user_error_is_one_line_with_the_fix(
    name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    case = CASES[name](tmp_path, request)
    if case.postgres:
        request.applymarker(pytest.mark.postgres)
    env = clean_env(tmp_path, **case.env)
    settings_text = env.pop("_WRITE_SETTINGS", None)
    if settings_text is not None:
        _write(work / "settings.toml", settings_text)
    before = sorted(path.name for path in work.iterdir())

    result = batchkernel(*case.args, env=env, cwd=work, timeout=60)

    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert case.expected in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) <= 6, result.stderr
    assert sorted(path.name for path in work.iterdir()) == before, "a file was created"
    assert not (tmp_path / "nodir").exists()


def test_debug_shows_the_traceback_as_well(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/x"
    result = batchkernel("--debug", "status", "--database", url, env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "connection refused" in result.stderr.splitlines()[-1]
