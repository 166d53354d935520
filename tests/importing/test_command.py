"""``batchkernel import`` as a user runs it: plain unwrapped lines, exit status, ``--update``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from kernel.db.engine import Database
from kernel.db.migrate import upgrade
from plugins.common.schema.models import ChatSession, Company
from tests.importing.support import batchkernel, cli_env, session_line, session_record, write_lines


def test_bad_lines_make_the_command_fail_after_printing_everything(
    tmp_path: Path, db_url: str
) -> None:
    env = cli_env(tmp_path, db_url, COLUMNS="40")
    lines = [session_line("acme", f"s{i}") for i in range(5)]
    lines.insert(2, session_line("acme", "long", company_name="N" * 300))
    source = write_lines(tmp_path / "s.jsonl", lines)
    result = batchkernel("import", str(source), env=env)
    assert result.returncode == 1, result.stderr
    printed = result.stderr.splitlines()
    assert any(
        line.startswith("line 3: field 'company_name'") and "255" in line for line in printed
    ), result.stderr
    assert (
        "6 lines read: 5 sessions created, 0 already present, 0 changed, not updated "
        "(use --update), 1 bad line" in printed[-3]
    ), result.stderr
    assert printed[-1].startswith("1 bad line skipped: fix them"), result.stderr
    again = batchkernel("import", str(source), env=env)
    assert again.returncode == 1 and "5 already present" in again.stderr.splitlines()[-3]


def test_a_clean_import_and_an_update_succeed(tmp_path: Path, db_url: str) -> None:
    env = cli_env(tmp_path, db_url)
    first = write_lines(tmp_path / "a.jsonl", [session_record("acme", "s1")])
    assert batchkernel("import", str(first), env=env).returncode == 0
    record = session_record("acme", "s1")
    record["messages"][0]["content"] = "edited"
    second = write_lines(tmp_path / "b.jsonl", [record])
    plain = batchkernel("import", str(second), env=env)
    assert plain.returncode == 0, plain.stderr
    assert "1 changed, not updated (use --update)" in plain.stderr
    updated = batchkernel("import", "--update", str(second), env=env)
    assert updated.returncode == 0, updated.stderr
    assert "1 updated and re-enqueued" in updated.stderr


@pytest.mark.postgres
def test_a_failing_database_stops_the_import_cleanly_and_keeps_the_chunks_before(
    tmp_path: Path, postgres_url: str
) -> None:
    env = cli_env(tmp_path, postgres_url, BATCHKERNEL_DATABASE__STATEMENT_TIMEOUT_MS="1000")
    source = write_lines(tmp_path / "s.jsonl", [session_line("acme", f"s{i}") for i in range(2500)])
    database = Database(postgres_url)
    upgrade(database)
    now = datetime.now(UTC)
    try:
        with database.engine.connect() as conn:
            with conn.begin():
                conn.execute(
                    sa.insert(Company.__table__),
                    {
                        "id": "acme",
                        "name": "acme",
                        "status": "ACTIVE",
                        "created_at": now,
                        "updated_at": now,
                    },
                )
            held = conn.begin()
            conn.execute(
                sa.insert(ChatSession.__table__),
                {"id": "held", "company_id": "acme", "external_id": "s2200", "created_at": now},
            )
            stopped = batchkernel("import", str(source), env=env)
            held.rollback()
    finally:
        database.dispose()
    assert stopped.returncode == 2, stopped.stderr
    assert "Traceback" not in stopped.stderr
    last = stopped.stderr.strip().splitlines()
    assert last[-3].startswith("2500 lines read: 2000 sessions created")
    assert last[-1].startswith("error: import stopped at line 2001: the database failed")
    again = batchkernel("import", str(source), env=env)
    assert again.returncode == 0, again.stderr
    assert "500 sessions created, 2000 already present" in again.stderr
