"""Two ``batchkernel import`` processes at once: neither dies, nothing is duplicated or lost.

Real OS processes (``python -m kernel import``) on a real database. They are lined up without
timing: on a fresh database both wait on their stdin after start-up and are released together;
for the row races the test holds the contested rows in an open transaction until the server
shows both importers waiting on them, then rolls back so they meet each other.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from kernel.db.migrate import current_revision, upgrade
from kernel.db.engine import Database
from kernel.db.models import AIProcessingRequest, ChatSession, Company, Message
from tests.importing.support import cli_env, session_line, write_lines

COMPANIES = [f"c{i}" for i in range(10)]
SHARED = [f"s{i}" for i in range(300)]
WAIT_SECONDS = 180

# Start-up (the slow imports) happens before the barrier, then the real command runs.
BARRIER = """
import runpy, sys
import kernel.cli.main, kernel.importer, kernel.db.migrate
print("ready", flush=True)
sys.stdin.readline()
sys.argv = ["kernel", *sys.argv[1:]]
runpy.run_module("kernel", run_name="__main__", alter_sys=True)
"""


def files(tmp_path: Path) -> list[Path]:
    """Two files with the same new companies and 300 shared sessions, 100 own sessions each."""
    made = []
    for name in ("a", "b"):
        own = [f"{name}{i}" for i in range(100)]
        lines = [
            session_line(COMPANIES[i % len(COMPANIES)], sid, company_name=f"Company {i % 10}")
            for i, sid in enumerate(SHARED + own)
        ]
        made.append(write_lines(tmp_path / f"{name}.jsonl", lines))
    return made


def start(args: list[str], env: dict[str, str], *, barrier: bool) -> subprocess.Popen[str]:
    """Start ``python -m kernel ARGS`` (behind the stdin barrier if asked)."""
    command = (
        [sys.executable, "-c", BARRIER, *args]
        if barrier
        else [sys.executable, "-m", "kernel", *args]
    )
    return subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(processes: list[subprocess.Popen[str]]) -> list[str]:
    """Wait for every process; each must exit 0. Returns their stderr."""
    outputs = []
    for process in processes:
        _, err = process.communicate(timeout=WAIT_SECONDS)
        assert process.returncode == 0, err
        assert "Traceback" not in err, err
        outputs.append(err)
    return outputs


def check_rows(db_url: str) -> None:
    """Every company, session, message and request exactly once."""
    database = Database(db_url)
    try:
        with database.transaction() as session:
            companies = session.scalars(sa.select(Company.id)).all()
            sessions = session.scalars(sa.select(ChatSession.external_id)).all()
            messages = session.scalar(sa.select(sa.func.count()).select_from(Message))
            requests = session.scalar(sa.select(sa.func.count()).select_from(AIProcessingRequest))
        assert sorted(companies) == COMPANIES
        assert len(sessions) == len(set(sessions)) == 500
        assert messages == 500 * 3 and requests == 500
        assert current_revision(database) is not None
    finally:
        database.dispose()


def test_two_first_imports_at_once_on_a_fresh_database(db_url: str, tmp_path: Path) -> None:
    env = cli_env(tmp_path, db_url)
    processes = [start(["import", str(path)], env, barrier=True) for path in files(tmp_path)]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = finish(processes)
    check_rows(db_url)
    created = [int(out.split(" companies created")[0].rsplit(" ", 1)[-1]) for out in outputs]
    assert sum(created) == len(COMPANIES)


@contextmanager
def held(postgres_url: str, rows: str) -> Iterator[sa.Connection]:
    """An open transaction holding the contested rows (uncommitted) until the block ends."""
    engine = sa.create_engine(postgres_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            now = datetime.now(UTC)
            if rows == "sessions":
                with conn.begin():
                    conn.execute(
                        sa.insert(Company),
                        [
                            {
                                "id": c,
                                "name": c,
                                "status": "ACTIVE",
                                "created_at": now,
                                "updated_at": now,
                            }
                            for c in COMPANIES
                        ],
                    )
            transaction = conn.begin()
            if rows == "companies":
                conn.execute(
                    sa.insert(Company),
                    [
                        {
                            "id": c,
                            "name": c,
                            "status": "ACTIVE",
                            "created_at": now,
                            "updated_at": now,
                        }
                        for c in COMPANIES
                    ],
                )
            else:
                conn.execute(
                    sa.insert(ChatSession),
                    [
                        {
                            "id": f"held-{sid}",
                            "company_id": COMPANIES[i % 10],
                            "external_id": sid,
                            "created_at": now,
                        }
                        for i, sid in enumerate(SHARED)
                    ],
                )
            yield conn
            transaction.rollback()
    finally:
        engine.dispose()


def wait_for_lock_waiters(
    postgres_url: str, wanted: int, processes: list[subprocess.Popen[str]]
) -> None:
    """Block until ``wanted`` backends of this database wait on a lock (or a process ended)."""
    engine = sa.create_engine(postgres_url, poolclass=NullPool)
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        while time.monotonic() < deadline:
            for process in processes:
                if process.poll() is not None:
                    _, err = process.communicate()
                    pytest.fail(f"an importer ended before meeting the other: {err}")
            with engine.connect() as conn:
                if conn.scalar(query) >= wanted:
                    return
            time.sleep(0.05)
        pytest.fail(f"the importers did not both reach the contested rows in {WAIT_SECONDS} s")
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("rows", ["companies", "sessions"])
def test_imports_racing_for_the_same_new_rows_both_succeed(
    postgres_url: str, tmp_path: Path, rows: str
) -> None:
    database = Database(postgres_url)
    try:
        upgrade(database)
    finally:
        database.dispose()
    env = cli_env(tmp_path, postgres_url, BATCHKERNEL_DATABASE__STATEMENT_TIMEOUT_MS="600000")
    with held(postgres_url, rows):
        processes = [start(["import", str(path)], env, barrier=False) for path in files(tmp_path)]
        wait_for_lock_waiters(postgres_url, 2, processes)
    finish(processes)
    check_rows(postgres_url)
