"""Re-importing a session whose content changed: counted apart, replaced only with ``--update``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from kernel.api import KernelAPI
from plugins.common.importing.importer import import_file
from plugins.common.schema.models import AIBatchRequest, AIProcessingRequest, ChatSession, Message
from plugins.common.text import transcript_size
from tests.importing.support import count, session_record, write_lines

IN_PROGRESS = "BATCHING_IN_PROGRESS"


def changed(record: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A copy of ``record`` with other content."""
    return {**record, "messages": [dict(m) for m in record["messages"]]} | fields


def originals() -> list[dict[str, Any]]:
    """s1..s5 with three messages, s6 without any."""
    return [session_record("acme", f"s{i}") for i in range(1, 6)] + [
        session_record("acme", "s6", messages=0)
    ]


def edited(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """s1 content, s2 start, s3 one message more, s4 the same, s5 the same instant in
    another offset, s6 first messages."""
    s1, s2, s3, s4, s5, _ = records
    new_s1 = changed(s1)
    new_s1["messages"][1]["content"] = "edited"
    new_s3 = changed(s3)
    new_s3["messages"].append({"role": "user", "content": "one more"})
    return [
        new_s1,
        changed(s2, start_time="2026-11-02T09:00:00Z"),
        new_s3,
        s4,
        changed(s5, start_time="2026-11-01T14:00:00+05:00"),
        session_record("acme", "s6", messages=2),
    ]


def messages_of(kernel: KernelAPI, external_id: str) -> list[tuple[str, str]]:
    """A stored session's messages in order."""
    with kernel.db.transaction() as session:
        return [
            (role, content)
            for role, content in session.execute(
                select(Message.role, Message.content)
                .join(ChatSession)
                .where(ChatSession.external_id == external_id)
                .order_by(Message.position)
            )
        ]


def test_changed_content_is_counted_apart_and_left_alone(
    make_kernel: Any, db_url: str, tmp_path: Path
) -> None:
    kernel = make_kernel(db_url)
    records = originals()
    import_file(kernel, write_lines(tmp_path / "a.jsonl", records))
    report = import_file(kernel, write_lines(tmp_path / "b.jsonl", edited(records)))
    assert (report.sessions_created, report.sessions_existing, report.sessions_changed) == (0, 2, 4)
    assert report.problems == [] and report.sessions_updated == 0
    notes = {note.line: note.reason for note in report.notes}
    assert sorted(notes) == [1, 2, 3, 6]
    assert "messages" in notes[1] and "start_time" in notes[2] and "--update" in notes[1]
    assert messages_of(kernel, "s1")[1] == ("assistant", "message 1 of s1")
    assert "4 changed, not updated (use --update)" in report.summary()


def test_update_replaces_content_and_requeues_what_is_not_in_flight(
    make_kernel: Any, db_url: str, tmp_path: Path
) -> None:
    kernel = make_kernel(db_url)
    records = [*originals(), session_record("acme", "s7", messages=2)]
    import_file(kernel, write_lines(tmp_path / "a.jsonl", records))
    now = datetime.now(UTC)
    r, s = AIProcessingRequest, ChatSession
    with kernel.db.transaction() as session:
        ids = dict(session.execute(select(s.external_id, s.id)).all())
        session.add(
            AIBatchRequest(
                id="batch-1",
                company_id="acme",
                model="m",
                processing_type="t",
                status="IN_PROGRESS",
                submission_key="k-1",
            )
        )
        session.flush()
        states = {
            "s1": {"status": "PROCESSING_COMPLETE", "attempts": 1, "completed_at": now},
            "s2": {"status": "PROCESSING_FAILED", "attempts": 3, "error": "gave up"},
            "s3": {"status": IN_PROGRESS, "attempts": 1, "batch_id": "batch-1"},
            "s4": {"status": "PENDING_BATCHING", "attempts": 2, "error": "retry"},
        }
        for external_id, values in states.items():
            session.execute(
                update(r)
                .where(r.session_id == ids[external_id])
                .values(total_cost_usd=0.5, **values)
            )
        session.execute(
            update(s)
            .where(s.external_id == "s1")
            .values(summary="old analysis", sentiment="NEUTRAL", analyzed_at=now)
        )
    new = edited(records[:6])
    new[3] = changed(new[3], start_time="2026-11-03T09:00:00Z")
    new.append(session_record("acme", "s7", messages=0))
    report = import_file(kernel, write_lines(tmp_path / "b.jsonl", new), update=True)
    assert report.sessions_updated == 4 and report.requests_requeued == 3
    assert report.requests_created == 1 and report.sessions_in_flight == 1
    assert [p.line for p in report.problems] == [7] and "no messages" in report.problems[0].reason
    assert {n.line for n in report.notes} == {3}
    assert "running batch" in report.notes[0].reason
    assert messages_of(kernel, "s1")[1] == ("assistant", "edited")
    assert len(messages_of(kernel, "s3")) == 3
    assert messages_of(kernel, "s6") == [
        ("user", "message 0 of s6"),
        ("assistant", "message 1 of s6"),
    ]
    with kernel.db.transaction() as session:
        rows = {
            row.external_id: row
            for row in session.execute(
                select(
                    s.external_id,
                    s.start_time,
                    s.message_count,
                    s.transcript_chars,
                    s.summary,
                    s.analyzed_at,
                    r.status,
                    r.attempts,
                    r.batch_id,
                    r.error,
                    r.completed_at,
                    r.total_cost_usd,
                ).outerjoin(r, r.session_id == s.id)
            )
        }
    for external_id in ("s1", "s2", "s4", "s6"):
        row = rows[external_id]
        assert (row.status, row.attempts, row.batch_id, row.error, row.completed_at) == (
            "PENDING_BATCHING",
            0,
            None,
            None,
            None,
        )
    assert rows["s1"].summary is None and rows["s1"].analyzed_at is None
    assert rows["s1"].total_cost_usd == 0.5
    assert rows["s1"].transcript_chars == transcript_size(messages_of(kernel, "s1"))[0]
    assert rows["s6"].message_count == 2
    assert rows["s2"].start_time.replace(tzinfo=None) == datetime(2026, 11, 2, 9)
    assert (rows["s3"].status, rows["s3"].attempts, rows["s3"].message_count) == (IN_PROGRESS, 1, 3)
    assert rows["s7"].message_count == 2
    again = import_file(kernel, write_lines(tmp_path / "b.jsonl", new), update=True)
    assert (again.sessions_existing, again.sessions_updated, again.sessions_in_flight) == (5, 0, 1)


def test_update_costs_a_constant_number_of_statements_per_chunk(
    make_kernel: Any, db_url: str, tmp_path: Path
) -> None:
    kernel = make_kernel(db_url)
    records = [session_record(f"c{i % 40}", f"s{i}", messages=4) for i in range(6000)]
    import_file(kernel, write_lines(tmp_path / "a.jsonl", records))
    for record in records:
        record["messages"][0]["content"] += " (edited)"
    with kernel.db.queries.measure() as measured:
        report = import_file(kernel, write_lines(tmp_path / "b.jsonl", records), update=True)
    assert report.sessions_updated == 6000 and report.requests_requeued == 6000
    assert count(kernel, Message) == 6000 * 4
    assert measured["queries"] <= 3 * 12
