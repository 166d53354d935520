"""Fields are normalised first (NUL removed, identifiers trimmed) and validated after."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from plugins.common.importing.importer import import_file
from plugins.common.schema.models import ChatSession, Company, Message
from tests.importing.support import count, session_line, session_record, write_lines

EMPTY_AFTER_NORMALISING = ["\u0000", " \u0000 ", "\u0000\u0000", "  "]


@pytest.mark.parametrize(
    "value", EMPTY_AFTER_NORMALISING, ids=["nul", "spaced-nul", "nuls", "blank"]
)
def test_identifiers_empty_after_normalising_are_bad_lines(
    make_kernel: Any, db_url: str, tmp_path: Path, value: str
) -> None:
    kernel = make_kernel(db_url)
    role = session_record("acme", "s-role")
    role["messages"][0]["role"] = value
    lines: list[bytes | dict[str, Any]] = [
        session_line(value, "s-company"),
        session_line("acme", value),
        role,
        session_line("acme", "good"),
    ]
    report = import_file(kernel, write_lines(tmp_path / "s.jsonl", lines))
    problems = {p.line: p.reason for p in report.problems}
    assert sorted(problems) == [1, 2, 3]
    assert "'company'" in problems[1] and "empty" in problems[1]
    assert "'session_id'" in problems[2] and "empty" in problems[2]
    assert "messages[0].role" in problems[3] and "empty" in problems[3]
    assert report.sessions_created == 1
    with kernel.db.transaction() as session:
        assert session.scalars(select(Company.id)).all() == ["acme"]
        assert session.scalars(select(ChatSession.external_id)).all() == ["good"]
        assert "" not in session.scalars(select(Message.role)).all()


def test_nul_inside_identifiers_is_removed_before_the_length_check(
    make_kernel: Any, db_url: str, tmp_path: Path
) -> None:
    kernel = make_kernel(db_url)
    lines = [
        session_line("ac\u0000me", "s\u00001", company_name="\u0000"),
        session_line("acme", "x" * 255 + "\u0000"),
    ]
    report = import_file(kernel, write_lines(tmp_path / "s.jsonl", lines))
    assert report.problems == [] and report.sessions_created == 2
    with kernel.db.transaction() as session:
        assert session.execute(select(Company.id, Company.name)).all() == [("acme", "acme")]
        assert sorted(session.scalars(select(ChatSession.external_id))) == ["s1", "x" * 255]
    assert count(kernel, Company) == 1
