"""Two ``batchkernel import`` processes at once: neither dies, nothing is duplicated or lost.

Real OS processes (``python -m kernel import``) on a real database, lined up without timing. On
PostgreSQL the test holds what both will contend for in an open transaction (the schema's first
table, the new companies or the new sessions), waits until the server shows both importers
waiting for it, then rolls back so that they meet each other. SQLite cannot show who waits, so
there both processes block on their stdin after start-up and are released together.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from kernel.db.engine import Database
from kernel.db.migrate import upgrade
from plugins.cli.revisions import current_heads, shipped_heads
from plugins.common.importing.importer import import_file
from plugins.common.schema.models import AIProcessingRequest, ChatSession, Company, Message
from tests.importing.support import cli_env, count, session_line, session_record, write_lines

COMPANIES = [f"c{i}" for i in range(10)]
SHARED = [f"s{i}" for i in range(300)]
WAIT_SECONDS = 180

# Start-up (the slow imports) happens before the barrier, then the real command runs.
BARRIER = """
import runpy, sys
import plugins.cli.main, plugins.common.importing.importer, plugins.cli.revisions
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
            session_line(COMPANIES[i % 10], sid, company_name=f"Company {i % 10}")
            for i, sid in enumerate(SHARED + own)
        ]
        made.append(write_lines(tmp_path / f"{name}.jsonl", lines))
    return made


def start(args: list[str], env: dict[str, str], *, barrier: bool) -> subprocess.Popen[str]:
    """Start ``python -m kernel ARGS`` (behind the stdin barrier if asked)."""
    head = ["-c", BARRIER] if barrier else ["-m", "kernel"]
    return subprocess.Popen(
        [sys.executable, *head, *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def release(processes: list[subprocess.Popen[str]]) -> None:
    """Wait until every process is ready behind the barrier, then let them all go."""
    for process in processes:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()


def finish(processes: list[subprocess.Popen[str]]) -> list[str]:
    """Wait for every process; each must exit 0. Returns their stderr."""
    outputs = []
    for process in processes:
        _, err = process.communicate(timeout=WAIT_SECONDS)
        assert process.returncode == 0, err
        assert "Traceback" not in err, err
        outputs.append(err)
    return outputs


def check_rows(db_url: str, outputs: list[str], companies_created: int) -> None:
    """Every company, session, message and request exactly once; each company created once."""
    database = Database(db_url)
    try:
        with database.transaction() as session:
            companies = session.scalars(sa.select(Company.id)).all()
            sessions = session.scalars(sa.select(ChatSession.external_id)).all()
            messages = session.scalar(sa.select(sa.func.count()).select_from(Message))
            requests = session.scalar(sa.select(sa.func.count()).select_from(AIProcessingRequest))
        assert current_heads(database) == shipped_heads()
    finally:
        database.dispose()
    assert sorted(companies) == COMPANIES
    assert len(sessions) == len(set(sessions)) == 500
    assert messages == 500 * 3 and requests == 500
    summaries = [out.strip().splitlines()[-1] for out in outputs]
    created = [int(line.split(" companies created")[0].rsplit(" ", 1)[-1]) for line in summaries]
    assert sum(created) == companies_created, summaries


def rows(contested: str) -> tuple[list[str], list[tuple[sa.Table, list[dict[str, object]]]]]:
    """DDL and rows the test holds uncommitted: the schema's first table, companies or sessions."""
    now = datetime.now(UTC)
    companies = [
        {"id": c, "name": c, "status": "ACTIVE", "created_at": now, "updated_at": now}
        for c in COMPANIES
    ]
    sessions = [
        {
            "id": f"held-{sid}",
            "company_id": COMPANIES[i % 10],
            "external_id": sid,
            "created_at": now,
        }
        for i, sid in enumerate(SHARED)
    ]
    if contested == "schema":
        return ["CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"], []
    if contested == "companies":
        return [], [(Company.__table__, companies)]
    return [], [(ChatSession.__table__, sessions)]


@contextmanager
def held(postgres_url: str, contested: str) -> Iterator[None]:
    """An open transaction holding what the importers contend for until the block ends."""
    engine = sa.create_engine(postgres_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if contested == "sessions":
                with conn.begin():
                    conn.execute(sa.insert(Company.__table__), rows("companies")[1][0][1])
            ddl, inserts = rows(contested)
            transaction = conn.begin()
            for statement in ddl:
                conn.exec_driver_sql(statement)
            for table, values in inserts:
                conn.execute(sa.insert(table), values)
            yield
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


def test_two_first_imports_at_once_on_a_fresh_database(db_url: str, tmp_path: Path) -> None:
    env = cli_env(tmp_path, db_url, BATCHKERNEL_DATABASE__STATEMENT_TIMEOUT_MS="600000")
    paths = files(tmp_path)
    if db_url.startswith("postgresql"):
        with held(db_url, "schema"):
            processes = [start(["import", str(path)], env, barrier=False) for path in paths]
            wait_for_lock_waiters(db_url, 2, processes)
    else:
        processes = [start(["import", str(path)], env, barrier=True) for path in paths]
        release(processes)
    check_rows(db_url, finish(processes), len(COMPANIES))


@pytest.mark.postgres
@pytest.mark.parametrize("contested", ["companies", "sessions"])
def test_imports_racing_for_the_same_new_rows_both_succeed(
    postgres_url: str, tmp_path: Path, contested: str
) -> None:
    database = Database(postgres_url)
    try:
        upgrade(database)
    finally:
        database.dispose()
    env = cli_env(tmp_path, postgres_url, BATCHKERNEL_DATABASE__STATEMENT_TIMEOUT_MS="600000")
    with held(postgres_url, contested):
        processes = [start(["import", str(path)], env, barrier=False) for path in files(tmp_path)]
        wait_for_lock_waiters(postgres_url, 2, processes)
    check_rows(postgres_url, finish(processes), len(COMPANIES) if contested == "companies" else 0)


@pytest.mark.postgres
def test_updates_racing_for_the_same_sessions_both_succeed(
    postgres_url: str, tmp_path: Path, make_kernel: Any
) -> None:
    kernel = make_kernel(postgres_url)
    # Sessions imported without messages have no request yet: no request lock orders the two.
    first = [session_record("acme", f"e{i}", messages=0) for i in range(100)]
    import_file(kernel, write_lines(tmp_path / "first.jsonl", first))
    edited = [session_record("acme", record["session_id"]) for record in first]
    for record in edited:
        record["messages"][0]["content"] = "edited"
    source = write_lines(tmp_path / "edited.jsonl", edited)
    env = cli_env(tmp_path, postgres_url, BATCHKERNEL_DATABASE__STATEMENT_TIMEOUT_MS="600000")
    engine = sa.create_engine(postgres_url, poolclass=NullPool)
    try:
        with engine.connect() as conn, conn.begin():
            conn.execute(sa.select(ChatSession.id).with_for_update()).all()
            processes = [
                start(["import", "--update", str(source)], env, barrier=False) for _ in range(2)
            ]
            wait_for_lock_waiters(postgres_url, 2, processes)
    finally:
        engine.dispose()
    finish(processes)
    r = AIProcessingRequest
    with kernel.db.transaction() as session:
        contents = session.execute(
            sa.select(Message.session_id, Message.content).where(Message.position == 0)
        ).all()
        statuses = session.execute(sa.select(r.status, sa.func.count()).group_by(r.status)).all()
    assert len(contents) == 100 and {content for _, content in contents} == {"edited"}
    assert count(kernel, Message) == 100 * 3
    assert statuses == [("PENDING_BATCHING", 100)]
