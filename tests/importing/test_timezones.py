"""Timestamps are stored in UTC on every database, whatever offset the line carries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from plugins.common.importing.importer import import_file
from plugins.common.schema.models import ChatSession, Message
from tests.importing.support import session_record, write_lines


def as_utc(value: datetime) -> datetime:
    """A value read back: PostgreSQL answers aware datetimes, SQLite naive ones (UTC by contract)."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def test_offsets_are_normalised_to_utc_before_storing(
    make_kernel: Any, db_url: str, tmp_path: Path
) -> None:
    kernel = make_kernel(db_url)
    record = session_record("acme", "s1", start_time="2026-11-01T09:00:00+05:00")
    record["messages"][0]["timestamp"] = "2026-11-01T09:01:30.250000-03:30"
    record["messages"][1]["timestamp"] = "2026-11-01T09:02:00"
    naive = session_record("acme", "s2", start_time="2026-11-01T09:00:00")
    report = import_file(kernel, write_lines(tmp_path / "s.jsonl", [record, naive]))
    assert report.problems == [] and report.sessions_created == 2
    with kernel.db.transaction() as session:
        starts = dict(
            session.execute(select(ChatSession.external_id, ChatSession.start_time)).all()
        )
        sent = session.scalars(
            select(Message.sent_at)
            .join(ChatSession)
            .where(ChatSession.external_id == "s1")
            .order_by(Message.position)
        ).all()
        if not kernel.db.is_postgres:
            stored = session.scalar(
                text("SELECT start_time FROM chat_sessions WHERE external_id = 's1'")
            )
            assert stored.startswith("2026-11-01 04:00:00")
    assert as_utc(starts["s1"]) == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    assert as_utc(starts["s2"]) == datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    assert as_utc(sent[0]) == datetime(2026, 11, 1, 12, 31, 30, 250000, tzinfo=UTC)
    assert as_utc(sent[1]) == datetime(2026, 11, 1, 9, 2, tzinfo=UTC)
    assert sent[2] is None


def test_a_timestamp_that_cannot_be_moved_to_utc_is_a_bad_line(
    make_kernel: Any, db_url: str, tmp_path: Path
) -> None:
    kernel = make_kernel(db_url)
    lines = [
        session_record("acme", "s1", start_time="0001-01-01T00:00:00+05:00"),
        session_record("acme", "s2"),
    ]
    report = import_file(kernel, write_lines(tmp_path / "s.jsonl", lines))
    assert [p.line for p in report.problems] == [1]
    assert "start_time" in report.problems[0].reason
    assert report.sessions_created == 1
