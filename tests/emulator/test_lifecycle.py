"""Batch lifecycle on the compressed clock: cancel, validation, token limits, expiry, results."""

from __future__ import annotations

import time

import openai
import orjson
import pytest

from plugins.emulator import EmulatorServer
from tests.emulator.emulator_helpers import TERMINAL, jsonl, parse_jsonl, request_line, wait_for


def test_cancel_splits_partial_results(
    client: openai.OpenAI, submit, server: EmulatorServer
) -> None:
    server.configure(in_progress_seconds=2.0, cancelling_seconds=0.2)
    created = submit([request_line(f"c{i}") for i in range(40)])
    assert wait_for(client, created.id, {"in_progress"}).status == "in_progress"
    time.sleep(1.0)
    cancelling = client.batches.cancel(created.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
    batch = wait_for(client, created.id, TERMINAL)
    assert batch.status == "cancelled" and batch.cancelled_at is not None
    counts = batch.request_counts
    assert counts.total == 40 and counts.failed == 0 and 0 < counts.completed < 40

    done = parse_jsonl(client.files.content(batch.output_file_id).text)
    not_run = parse_jsonl(client.files.content(batch.error_file_id).text)
    assert len(done) == counts.completed and len(done) + len(not_run) == 40
    assert {line["custom_id"] for line in done + not_run} == {f"c{i}" for i in range(40)}
    for line in not_run:
        assert line["response"] is None and line["error"]["code"] == "batch_cancelled"

    with pytest.raises(openai.BadRequestError):
        client.batches.cancel(created.id)


def test_cancel_while_validating_gives_no_files(
    client: openai.OpenAI, submit, server: EmulatorServer
) -> None:
    server.configure(validating_seconds=30, cancelling_seconds=0.3)
    created = submit([request_line("a")])
    assert client.batches.cancel(created.id).status == "cancelling"
    assert client.batches.cancel(created.id).status == "cancelling"
    batch = wait_for(client, created.id, TERMINAL)
    assert batch.status == "cancelled"
    assert batch.output_file_id is None and batch.error_file_id is None


BAD_LINE = b'{"custom_id": "broken", "method": "POST", '


@pytest.mark.parametrize(
    ("content", "code", "line"),
    [
        (jsonl([request_line("a")]) + BAD_LINE + b"\n", "invalid_json_line", 2),
        (
            jsonl([request_line("a"), request_line("b"), request_line("a")]),
            "duplicate_custom_id",
            3,
        ),
        (jsonl([request_line("a"), request_line("b", model="gpt-4o")]), "model_mismatch", 2),
        (jsonl([request_line("a", url="/v1/embeddings")]), "url_mismatch", 1),
        (jsonl([{**request_line("a"), "method": "GET"}]), "invalid_method", 1),
        (b"", "empty_file", None),
    ],
)
def test_validation_failures(
    client: openai.OpenAI, submit, content: bytes, code: str, line: int | None
) -> None:
    created = submit(content)
    assert created.status == "validating"
    batch = wait_for(client, created.id, TERMINAL)
    assert batch.status == "failed" and batch.failed_at is not None
    assert batch.output_file_id is None and batch.error_file_id is None
    errors = batch.errors.data
    assert errors[0].code == code and errors[0].line == line


def test_too_many_tasks(client: openai.OpenAI, submit, server: EmulatorServer) -> None:
    server.configure(max_requests_per_batch=3)
    batch = wait_for(client, submit([request_line(f"t{i}") for i in range(4)]).id, TERMINAL)
    assert batch.status == "failed" and batch.errors.data[0].code == "too_many_tasks"


def test_token_limit_exceeded(client: openai.OpenAI, submit, server: EmulatorServer) -> None:
    server.configure(in_progress_seconds=30, enqueued_token_limits={"gpt-4o-mini": 400})
    first = wait_for(client, submit([request_line(f"a{i}") for i in range(10)]).id, {"in_progress"})
    assert first.status == "in_progress"
    second = wait_for(client, submit([request_line(f"b{i}") for i in range(10)]).id, TERMINAL)
    assert second.status == "failed"
    error = second.errors.data[0]
    assert error.code == "token_limit_exceeded" and error.line is None
    assert error.message.startswith("Enqueued token limit reached for gpt-4o-mini in organization")
    assert "Limit: 400 enqueued tokens" in error.message

    client.batches.cancel(first.id)
    wait_for(client, first.id, TERMINAL)
    third = wait_for(client, submit([request_line(f"c{i}") for i in range(10)]).id, {"in_progress"})
    assert third.status == "in_progress"


def test_line_errors_go_to_error_file(
    client: openai.OpenAI, submit, server: EmulatorServer
) -> None:
    server.configure(rate_line_error=0.3, seed=7)
    batch = wait_for(client, submit([request_line(f"e{i}") for i in range(50)]).id, TERMINAL)
    assert batch.status == "completed"
    errors = parse_jsonl(client.files.content(batch.error_file_id).text)
    output = parse_jsonl(client.files.content(batch.output_file_id).text)
    assert 0 < len(errors) < 50
    assert batch.request_counts.failed == len(errors)
    assert batch.request_counts.completed == len(output) == 50 - len(errors)
    for line in errors:
        assert line["error"] is None and line["response"]["status_code"] == 500
        assert line["response"]["body"]["error"]["type"] == "server_error"

    server.configure(rate_line_error=1.0, line_error_status=400)
    batch = wait_for(client, submit([request_line("only")]).id, TERMINAL)
    assert batch.status == "completed" and batch.output_file_id is None
    [line] = parse_jsonl(client.files.content(batch.error_file_id).text)
    assert line["response"]["status_code"] == 400
    assert line["response"]["body"]["error"]["code"] == "context_length_exceeded"


def test_expiry_with_partial_output(client: openai.OpenAI, submit, server: EmulatorServer) -> None:
    server.configure(first_expire=1, expire_done_fraction=0.4)
    batch = wait_for(client, submit([request_line(f"x{i}") for i in range(10)]).id, TERMINAL)
    assert batch.status == "expired" and batch.expired_at is not None
    assert batch.request_counts.total == 10
    assert batch.request_counts.completed == 4 and batch.request_counts.failed == 0
    done = parse_jsonl(client.files.content(batch.output_file_id).text)
    expired = parse_jsonl(client.files.content(batch.error_file_id).text)
    assert len(done) == 4 and len(expired) == 6
    assert all(line["error"]["code"] == "batch_expired" for line in expired)
    assert all(line["response"] is None for line in expired)
    assert wait_for(client, submit([request_line("y")]).id, TERMINAL).status == "completed"


def test_natural_expiry_on_compressed_window(
    client: openai.OpenAI, submit, server: EmulatorServer
) -> None:
    server.configure(in_progress_seconds=100, completion_window_seconds=0.5)
    batch = wait_for(client, submit([request_line(f"w{i}") for i in range(4)]).id, TERMINAL)
    assert batch.status == "expired" and batch.output_file_id is None
    expired = parse_jsonl(client.files.content(batch.error_file_id).text)
    assert len(expired) == 4


def test_stuck_finalizing_until_cleared(
    client: openai.OpenAI, submit, server: EmulatorServer
) -> None:
    server.configure(stuck_finalizing=True)
    created = submit([request_line("s1"), request_line("s2")])
    for _ in range(3):
        batch = client.batches.retrieve(created.id)
        assert batch.status == "finalizing" and batch.output_file_id is None
        assert batch.request_counts is not None and batch.request_counts.completed == 2
    server.configure(stuck_finalizing=False)
    batch = client.batches.retrieve(created.id)
    assert batch.status == "completed" and batch.output_file_id is not None


def test_finalizing_for_n_seconds(client: openai.OpenAI, submit, server: EmulatorServer) -> None:
    server.configure(finalizing_seconds=0.5, validating_seconds=0.1)
    created = submit([request_line("f")])
    assert wait_for(client, created.id, {"finalizing"}).status == "finalizing"
    assert wait_for(client, created.id, TERMINAL).status == "completed"


def test_progress_counts_climb(client: openai.OpenAI, submit, server: EmulatorServer) -> None:
    server.configure(in_progress_seconds=1.0)
    created = submit([request_line(f"p{i}") for i in range(100)])
    seen = []
    batch = client.batches.retrieve(created.id)
    while batch.status == "in_progress":
        assert batch.request_counts is not None
        seen.append(batch.request_counts.completed)
        time.sleep(0.1)
        batch = client.batches.retrieve(created.id)
    assert batch.status == "completed" and seen == sorted(seen) and seen[-1] > seen[0]


def test_hostile_output(client: openai.OpenAI, submit, server: EmulatorServer) -> None:
    server.configure(
        seed=3,
        rate_garbage_lines=0.1,
        rate_unknown_id_lines=0.1,
        rate_duplicate_lines=0.1,
        rate_missing_lines=0.1,
    )
    ids = {f"h{i}" for i in range(200)}
    batch = wait_for(client, submit([request_line(i) for i in sorted(ids)]).id, TERMINAL)
    assert batch.request_counts.completed == 200
    raw = client.files.content(batch.output_file_id).text.splitlines()
    parsed, garbage = [], 0
    for text in raw:
        try:
            parsed.append(orjson.loads(text))
        except orjson.JSONDecodeError:
            garbage += 1
    found = [line["custom_id"] for line in parsed]
    assert garbage > 0
    assert any(cid not in ids for cid in found)
    assert len(found) != len(set(found))
    assert len(ids - set(found)) > garbage
    assert batch.error_file_id is None


def test_deleting_input_does_not_break_a_running_batch(
    client: openai.OpenAI, submit, server: EmulatorServer
) -> None:
    server.configure(in_progress_seconds=0.3)
    created = submit([request_line("d1"), request_line("d2")])
    assert client.batches.retrieve(created.id).status == "in_progress"
    client.files.delete(created.input_file_id)
    batch = wait_for(client, created.id, TERMINAL)
    assert batch.status == "completed" and batch.request_counts.completed == 2
    assert len(parse_jsonl(client.files.content(batch.output_file_id).text)) == 2
