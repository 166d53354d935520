"""Every field is checked against its column before writing; a refused line never costs the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from kernel.api import KernelAPI
from plugins.common.importing.importer import import_file
from plugins.common.schema.models import AIProcessingRequest, ChatSession, Company, Message
from tests.importing.support import count, session_line, session_record, write_lines


def test_too_long_fields_are_bad_lines_and_every_good_line_is_kept(
    make_kernel: Any, db_url: str, tmp_path: Path
) -> None:
    kernel = make_kernel(db_url)
    lines = [session_line(f"c{i % 3}", f"s{i}") for i in range(4500)]
    lines[10] = session_line("c0", "long-name", company_name="N" * 256)
    lines[11] = session_line("c" * 65, "long-company")
    lines[2500] = session_line("c1", "x" * 256)
    record = session_record("c2", "long-role")
    record["messages"][1]["role"] = "r" * 51
    lines[4400] = write_lines(tmp_path / "one.jsonl", [record]).read_bytes()
    lines.append(session_line("c9", "fits", company_name="N" * 255))
    report = import_file(kernel, write_lines(tmp_path / "s.jsonl", lines))
    problems = {p.line: p.reason for p in report.problems}
    assert sorted(problems) == [11, 12, 2501, 4401]
    assert "company_name" in problems[11] and "255" in problems[11] and "256" in problems[11]
    assert "company" in problems[12] and "64" in problems[12]
    assert "session_id" in problems[2501] and "255" in problems[2501]
    assert "messages[1].role" in problems[4401] and "50" in problems[4401]
    good = 4501 - 4
    assert report.sessions_created == good and report.requests_created == good
    assert count(kernel, ChatSession) == good and count(kernel, AIProcessingRequest) == good
    with kernel.db.transaction() as session:
        assert session.scalar(select(Company.name).where(Company.id == "c9")) == "N" * 255


def _refuse_content(kernel: KernelAPI, word: str) -> None:
    """Make the database itself refuse a message whose content is ``word`` (as a DBA might)."""
    with kernel.db.transaction() as session:
        if kernel.db.is_postgres:
            session.execute(
                text(f"ALTER TABLE messages ADD CONSTRAINT refuse CHECK (content <> '{word}')")
            )
        else:
            session.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON messages "
                    f"WHEN NEW.content = '{word}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )


def test_a_database_error_costs_only_its_own_line(
    make_kernel: Any, db_url: str, tmp_path: Path
) -> None:
    kernel = make_kernel(db_url)
    _refuse_content(kernel, "forbidden")
    lines = [session_line(f"c{i % 7}", f"s{i}") for i in range(5000)]
    for index in (2100, 2101, 4999):
        lines[index] = lines[index].replace(b"message 1 of s%d" % index, b"forbidden")
    report = import_file(kernel, write_lines(tmp_path / "s.jsonl", lines))
    assert [p.line for p in report.problems] == [2101, 2102, 5000]
    assert all("database refused" in p.reason for p in report.problems)
    assert report.sessions_created == 4997 and report.requests_created == 4997
    assert count(kernel, ChatSession) == 4997 and count(kernel, Message) == 4997 * 3
    assert count(kernel, ChatSession, ChatSession.external_id == "s2100") == 0
