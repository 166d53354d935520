"""Happy path through the real SDK: upload, create, poll, download, list, files API."""

from __future__ import annotations

import urllib.error
import urllib.request

import openai
import orjson
import pytest

from plugins.emulator import EmulatorServer
from tests.emulator.emulator_helpers import (
    GERMAN_SICK,
    TERMINAL,
    parse_jsonl,
    request_line,
    wait_for,
)

FILE_FIELDS = {
    "id",
    "object",
    "bytes",
    "created_at",
    "filename",
    "purpose",
    "status",
    "expires_at",
    "status_details",
}
BATCH_FIELDS = {
    "id",
    "object",
    "endpoint",
    "model",
    "errors",
    "input_file_id",
    "completion_window",
    "status",
    "output_file_id",
    "error_file_id",
    "created_at",
    "in_progress_at",
    "expires_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
    "request_counts",
    "usage",
    "metadata",
}


def test_batch_roundtrip(client: openai.OpenAI, submit, server: EmulatorServer) -> None:
    lines = [request_line(f"req-{i}", GERMAN_SICK if i % 2 else "user: Hi") for i in range(30)]
    created = submit(lines, metadata={"run": "r1"})
    assert created.status == "validating"
    assert created.request_counts.total == 0
    assert created.output_file_id is None and created.expires_at == created.created_at + 86400

    batch = wait_for(client, created.id, TERMINAL)
    assert batch.status == "completed"
    assert batch.model == "gpt-4o-mini"
    assert batch.request_counts.total == 30 and batch.request_counts.completed == 30
    assert batch.request_counts.failed == 0
    assert batch.error_file_id is None
    assert batch.in_progress_at and batch.finalizing_at and batch.completed_at
    assert batch.metadata == {"run": "r1"}

    output = parse_jsonl(client.files.content(batch.output_file_id).text)
    assert sorted(line["custom_id"] for line in output) == sorted(f"req-{i}" for i in range(30))
    input_tokens = output_tokens = 0
    for line in output:
        assert line["id"].startswith("batch_req_") and line["error"] is None
        response = line["response"]
        assert response["status_code"] == 200 and response["request_id"].startswith("req_")
        body = response["body"]
        assert body["object"] == "chat.completion" and body["model"] == "gpt-4o-mini"
        content = orjson.loads(body["choices"][0]["message"]["content"])
        assert set(content) == {
            "sentiment",
            "category",
            "summary",
            "language",
            "escalated",
            "forwarded_hr",
            "questions",
        }
        usage = body["usage"]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        input_tokens += usage["prompt_tokens"]
        output_tokens += usage["completion_tokens"]
    assert batch.usage.input_tokens == input_tokens
    assert batch.usage.output_tokens == output_tokens

    out_file = client.files.retrieve(batch.output_file_id)
    assert out_file.purpose == "batch_output" and out_file.status == "processed"


def test_raw_shapes_and_request_id(client: openai.OpenAI, submit) -> None:
    created = submit([request_line("a")])
    raw = client.batches.with_raw_response.retrieve(created.id)
    assert raw.headers["x-request-id"].startswith("req_")
    assert set(orjson.loads(raw.content)) == BATCH_FIELDS
    files = client.files.with_raw_response.list()
    assert all(set(item) == FILE_FIELDS for item in orjson.loads(files.content)["data"])
    with pytest.raises(openai.NotFoundError) as info:
        client.batches.retrieve("batch_doesnotexist")
    assert info.value.request_id and info.value.request_id.startswith("req_")


def test_shuffled_output_order(client: openai.OpenAI, submit, server: EmulatorServer) -> None:
    ids = [f"r{i:03d}" for i in range(60)]
    batch = wait_for(client, submit([request_line(i) for i in ids]).id, TERMINAL)
    shuffled = [
        line["custom_id"] for line in parse_jsonl(client.files.content(batch.output_file_id).text)
    ]
    assert sorted(shuffled) == ids and shuffled != ids

    server.configure(shuffle_output=False)
    batch = wait_for(client, submit([request_line(i) for i in ids]).id, TERMINAL)
    ordered = [
        line["custom_id"] for line in parse_jsonl(client.files.content(batch.output_file_id).text)
    ]
    assert ordered == ids


def test_list_pagination_newest_first(client: openai.OpenAI, submit) -> None:
    created = [submit([request_line("x")]).id for _ in range(23)]
    listed = [b.id for b in client.batches.list()]
    assert listed == list(reversed(created))
    paged = [b.id for b in client.batches.list(limit=5)]
    assert paged == listed
    first = client.batches.list(limit=20)
    assert first.has_more is True and len(first.data) == 20
    last = client.batches.list(limit=20, after=first.data[-1].id)
    assert last.has_more is False and len(last.data) == 3


def test_files_api(client: openai.OpenAI, server: EmulatorServer) -> None:
    uploaded = client.files.create(
        file=("notes.jsonl", b'{"a":1}\n'),
        purpose="batch",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    assert uploaded.expires_at == uploaded.created_at + 3600
    other = client.files.create(file=("data.txt", b"hello"), purpose="user_data")
    assert other.expires_at is None
    assert [f.id for f in client.files.list(purpose="batch")] == [uploaded.id]
    assert [f.id for f in client.files.list(order="asc")] == [uploaded.id, other.id]
    assert [f.id for f in client.files.list(limit=1)] == [other.id, uploaded.id]
    assert client.files.content(uploaded.id).content == b'{"a":1}\n'
    with client.files.with_streaming_response.content(uploaded.id) as response:
        assert b"".join(response.iter_bytes()) == b'{"a":1}\n'
    deleted = client.files.delete(uploaded.id)
    assert deleted.deleted is True and deleted.id == uploaded.id
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(uploaded.id)
    assert server.ledger()["files"][0]["deleted"] is True


def test_upload_rejections(client: openai.OpenAI, server: EmulatorServer) -> None:
    with pytest.raises(openai.BadRequestError, match=r"Must be \.jsonl"):
        client.files.create(file=("input.csv", b"{}\n"), purpose="batch")
    with pytest.raises(openai.BadRequestError, match=r"Must be \.jsonl"):
        client.files.create(file=b"{}\n", purpose="batch")
    server.configure(max_file_bytes=100)
    with pytest.raises(openai.BadRequestError, match="File is too large"):
        client.files.create(file=("big.jsonl", b"x" * 5000), purpose="batch")
    assert client.files.list().data == []


def test_create_rejections(client: openai.OpenAI) -> None:
    text_file = client.files.create(file=("a.txt", b"hi"), purpose="user_data")
    batch_file = client.files.create(file=("a.jsonl", b"{}\n"), purpose="batch")
    create = client.batches.create
    with pytest.raises(openai.NotFoundError):
        create(input_file_id="file-nope", endpoint="/v1/chat/completions", completion_window="24h")
    with pytest.raises(openai.BadRequestError):
        create(input_file_id=text_file.id, endpoint="/v1/chat/completions", completion_window="24h")
    with pytest.raises(openai.BadRequestError) as info:
        # The SDK's types refuse this endpoint; the emulator must refuse it too.
        create(input_file_id=batch_file.id, endpoint="/v1/nope", completion_window="24h")  # type: ignore[arg-type]
    assert info.value.param == "endpoint"
    with pytest.raises(openai.BadRequestError) as info:
        create(
            input_file_id=batch_file.id,
            endpoint="/v1/chat/completions",
            completion_window="48h",  # type: ignore[arg-type]
        )
    assert info.value.param == "completion_window"
    too_many = {f"k{i}": "v" for i in range(17)}
    with pytest.raises(openai.BadRequestError):
        create(
            input_file_id=batch_file.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata=too_many,
        )
    with pytest.raises(openai.BadRequestError):
        create(
            input_file_id=batch_file.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={"k": "v" * 513},
        )
    assert client.batches.list().data == []


def test_unknown_route_and_admin(server: EmulatorServer) -> None:
    request = urllib.request.Request(
        server.base_url + "/nope", headers={"Authorization": "Bearer test"}
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    with info.value:
        assert info.value.code == 404
        assert info.value.headers["x-request-id"].startswith("req_")
        error = orjson.loads(info.value.read())["error"]
    assert set(error) == {"message", "type", "param", "code"}
    root = server.base_url.removesuffix("/v1")
    with urllib.request.urlopen(root + "/_emulator/health", timeout=5) as response:
        assert orjson.loads(response.read())["status"] == "ok"
