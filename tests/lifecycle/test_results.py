"""Applying results: idempotence, and hostile output lines that fail only their own request."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import update

from kernel.types import BatchStatus, LocalBatch, ResultFiles
from plugins.common.schema.models import AIBatchRequest
from plugins.common.schema.rows import to_local_batch as to_local
from plugins.common.schema.statuses import RequestStatus
from plugins.emulator import EmulatorConfig

COMPLETE = RequestStatus.PROCESSING_COMPLETE.value
FAILED = RequestStatus.PROCESSING_FAILED.value
GOOD = {
    "sentiment": "NEUTRAL",
    "category": "LEAVE_VACATION",
    "summary": "Asks about leave.",
    "language": "en",
    "escalated": False,
    "forwarded_hr": False,
    "questions": ["How many days are left?"],
}


def line(custom_id: str, content: dict[str, Any] | str, status: int = 200) -> bytes:
    """One output-file line as the provider writes it."""
    text = content if isinstance(content, str) else orjson.dumps(content).decode()
    body = {
        "id": "chatcmpl-x",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }
    record = {
        "id": f"batch_req_{custom_id}",
        "custom_id": custom_id,
        "response": {"status_code": status, "request_id": f"req_{custom_id}", "body": body},
        "error": None,
    }
    return orjson.dumps(record) + b"\n"


def planned_batch(pipeline: Any) -> tuple[LocalBatch, list[str]]:
    """Submit one batch (kept in finalizing), then mark it completed locally."""
    pipeline.server.configure(stuck_finalizing=True)
    pipeline.scheduler.run_task("create")
    pipeline.scheduler.run_task("poll")
    (row,) = pipeline.batches()
    with pipeline.kernel.db.transaction() as session:
        session.execute(
            update(AIBatchRequest)
            .where(AIBatchRequest.id == row.id)
            .values(status=BatchStatus.COMPLETED.value)
        )
    (row,) = pipeline.batches()
    members = sorted(r.id for r in pipeline.requests() if r.batch_id == row.id)
    return to_local(row), members


def snapshot(pipeline: Any) -> list[tuple[Any, ...]]:
    """Every column that applying results may change."""
    return sorted(
        (r.id, r.status, r.attempts, r.total_tokens, r.total_cost_usd, r.error, r.batch_id)
        for r in pipeline.requests()
    ) + sorted((s.id, s.summary, s.category) for s in pipeline.sessions().values())


def test_applying_the_same_batch_twice_changes_nothing_the_second_time(
    make_pipeline: Any, db_url: str, tmp_path: Path
) -> None:
    pipeline = make_pipeline(db_url, sessions=5, companies=1)
    batch, members = planned_batch(pipeline)
    output = tmp_path / "out.jsonl"
    output.write_bytes(b"".join(line(m, GOOD) for m in members))
    files = ResultFiles(output, None)
    first = pipeline.kernel.apply_results([(batch, files)])
    assert (first.completed, first.batches, first.already_applied) == (5, 1, 0)
    before = snapshot(pipeline)
    second = pipeline.kernel.apply_results([(batch, files)])
    assert second.already_applied == 1 and second.completed == 0 and second.batches == 0
    assert snapshot(pipeline) == before


def test_hostile_output_lines_fail_only_their_own_request(
    make_pipeline: Any, db_url: str, tmp_path: Path
) -> None:
    pipeline = make_pipeline(db_url, sessions=5, companies=1, batch__max_attempts=1)
    batch, members = planned_batch(pipeline)
    good, bad_enum, duplicated, fenced, missing = members
    output = tmp_path / "out.jsonl"
    output.write_bytes(
        line(good, GOOD)
        + b"this is not json\n"
        + line("00000000-0000-0000-0000-000000000000", GOOD)
        + line(bad_enum, GOOD | {"category": "PARKING"})
        + line(duplicated, GOOD)
        + line(duplicated, GOOD | {"summary": "second copy must be ignored"})
        + line(fenced, "```json\n" + orjson.dumps(GOOD).decode() + "\n```")
        + b'{"custom_id": "\xff\xfe broken utf8"\n'
    )
    summary = pipeline.kernel.apply_results([(batch, ResultFiles(output, None))])
    rows = {r.id: r for r in pipeline.requests()}
    assert rows[good].status == COMPLETE and rows[fenced].status == COMPLETE
    assert rows[duplicated].status == COMPLETE
    assert pipeline.sessions()[rows[duplicated].session_id].summary == "Asks about leave."
    assert rows[bad_enum].status == FAILED
    assert "category 'PARKING' is not an allowed category" in rows[bad_enum].error
    assert rows[missing].status == FAILED and "no result line" in rows[missing].error
    assert summary.ignored_lines == 4
    assert (summary.completed, summary.failed) == (3, 2)


def test_emulator_garbage_lines_end_with_every_request_settled(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(
        db_url,
        sessions=40,
        config=EmulatorConfig(
            seed=4, rate_garbage_lines=0.1, rate_unknown_id_lines=0.1, rate_duplicate_lines=0.1
        ),
        batch__max_attempts=10,
    )
    pipeline.run()
    assert Counter(r.status for r in pipeline.requests()) == {COMPLETE: 40}
    assert {b.status for b in pipeline.batches()} == {BatchStatus.APPLIED.value}


def test_output_file_gone_requeues_without_spending_an_attempt(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(
        db_url, sessions=10, companies=1, config=EmulatorConfig(first_404={"files.content": 1})
    )
    pipeline.run()
    requests = pipeline.requests()
    assert Counter(r.status for r in requests) == {COMPLETE: 10}
    assert all(r.attempts == 0 for r in requests)
    assert len(pipeline.provider_batches()) == 2
