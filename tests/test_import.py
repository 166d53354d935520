"""``batchkernel import``: good, bad and repeated lines, idempotent re-import, set-based cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event, select

from plugins.common.importing.importer import import_file
from plugins.common.schema.models import AIProcessingRequest, ChatSession, Company, Message
from tests.importing.support import count, session_line


def test_good_bad_and_duplicate_lines(make_kernel: Any, db_url: str, tmp_path: Path) -> None:
    kernel = make_kernel(db_url)
    path = tmp_path / "sessions.jsonl"
    path.write_bytes(
        session_line("acme", "s1")
        + b"{not json\n"
        + session_line("acme", "s2", company_name="Acme Ltd")
        + orjson.dumps({"company": "acme", "start_time": "2026-11-01T09:00:00Z", "messages": []})
        + b"\n"
        + session_line("acme", "s1")
        + session_line("globex", "s1", messages=0)
        + orjson.dumps(
            {"company": "acme", "session_id": "s9", "start_time": "yesterday", "messages": []}
        )
        + b"\n"
        + session_line("globex", "s3", messages=2).replace(b"message 0", b"caf\xc3\xa9 \\u0000 ok")
        + b"\n"
    )
    report = import_file(kernel, path)
    problems = {p.line: p.reason for p in report.problems}
    assert sorted(problems) == [2, 4, 5, 7]
    assert "not valid JSON" in problems[2]
    assert "session_id" in problems[4]
    assert "repeats session 's1' of line 1" in problems[5]
    assert "start_time" in problems[7]
    assert [(n.line, "no messages" in n.reason) for n in report.notes] == [(6, True)]
    assert report.sessions_created == 4
    assert report.requests_created == 3
    assert report.companies_created == 2
    assert count(kernel, ChatSession) == 4 and count(kernel, Message) == 3 + 3 + 2
    with kernel.db.transaction() as session:
        content = session.scalar(
            select(Message.content)
            .join(ChatSession)
            .where(ChatSession.external_id == "s3")
            .order_by(Message.position)
        )
        assert content.startswith("café ") and "\x00" not in content
        names = {row.id: row.name for row in session.execute(select(Company.id, Company.name))}
    assert names == {"acme": "Acme Ltd", "globex": "globex"}


def test_reimport_creates_nothing_new(make_kernel: Any, db_url: str, tmp_path: Path) -> None:
    kernel = make_kernel(db_url)
    path = tmp_path / "sessions.jsonl"
    path.write_bytes(b"".join(session_line(f"c{i % 3}", f"s{i}") for i in range(50)))
    first = import_file(kernel, path)
    second = import_file(kernel, path)
    assert (first.sessions_created, first.requests_created) == (50, 50)
    assert (second.sessions_created, second.sessions_existing, second.requests_created) == (
        0,
        50,
        0,
    )
    assert count(kernel, AIProcessingRequest) == 50 and count(kernel, Company) == 3


def test_ten_thousand_sessions_use_a_constant_number_of_statements_per_chunk(
    make_kernel: Any, db_url: str, tmp_path: Path
) -> None:
    kernel = make_kernel(db_url)
    path = tmp_path / "big.jsonl"
    lines = [session_line(f"company-{i % 40}", f"s{i}", messages=5) for i in range(10_000)]
    lines[1234] = b'{"company": "x"}\n'
    path.write_bytes(b"".join(lines))
    executed = []

    def on_execute(*args: Any) -> None:
        parameters, executemany = args[3], args[5]
        executed.append(len(parameters) if executemany else 1)

    event.listen(kernel.db.engine, "before_cursor_execute", on_execute)
    with kernel.db.queries.measure() as measured:
        report = import_file(kernel, path)
    event.remove(kernel.db.engine, "before_cursor_execute", on_execute)
    assert report.sessions_created == 9_999 and [p.line for p in report.problems] == [1235]
    assert count(kernel, Message) == 9_999 * 5
    chunks = -(-10_000 // 2000)
    assert measured["queries"] <= chunks * 12
    if kernel.db.is_postgres:
        # each parameter set of an executemany is one statement on the server
        assert sum(executed) <= chunks * 12
