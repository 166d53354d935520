"""The Message Batches lifecycle through the real anthropic SDK: create, retrieve, list, results,
cancel, delete, headers, and structured output."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
import orjson
import pytest

from plugins.emulator_anthropic import AnthropicEmulatorServer
from tests.emulator_anthropic.anthropic_helpers import (
    SCHEMA,
    body_of,
    conforms,
    error_type_of,
    message_of,
    params,
    requests,
    text_of,
    tool_input,
    wait_ended,
)


def test_batch_runs_and_every_request_has_one_result(client: anthropic.Anthropic) -> None:
    created = client.messages.batches.create(requests=requests(25))
    assert created.id.startswith("msgbatch_")
    assert created.type == "message_batch"
    assert created.processing_status == "in_progress"
    assert created.request_counts.processing == 25
    assert created.results_url is None
    batch = wait_ended(client, created.id)
    assert batch.processing_status == "ended"
    assert batch.ended_at is not None
    assert batch.request_counts.succeeded == 25
    assert batch.request_counts.processing == 0
    assert batch.results_url and batch.results_url.endswith(f"/{batch.id}/results")
    results = list(client.messages.batches.results(batch.id))
    assert sorted(r.custom_id for r in results) == sorted(f"r{i}" for i in range(25))
    assert [r.custom_id for r in results] != [f"r{i}" for i in range(25)], "results are shuffled"
    assert all(r.result.type == "succeeded" for r in results)


def test_forced_tool_call_answers_with_a_conforming_tool_use(client: anthropic.Anthropic) -> None:
    batch = client.messages.batches.create(requests=requests(3))
    wait_ended(client, batch.id)
    for line in client.messages.batches.results(batch.id):
        message = message_of(line.result)
        assert message.stop_reason == "tool_use"
        answer = tool_input(message)
        assert conforms(answer, SCHEMA), answer
        assert answer["sentiment"] == "NEGATIVE"
        assert message.usage.output_tokens > 0


def test_output_config_json_schema_answers_with_conforming_json(
    client: anthropic.Anthropic,
) -> None:
    fmt = {"format": {"type": "json_schema", "schema": SCHEMA}, "effort": "low"}
    request: Any = {"custom_id": "fmt", "params": params(tool=False, output_config=fmt)}
    batch = client.messages.batches.create(requests=[request])
    wait_ended(client, batch.id)
    (line,) = list(client.messages.batches.results(batch.id))
    message = message_of(line.result)
    assert conforms(orjson.loads(text_of(message)), SCHEMA)
    assert message.stop_reason == "end_turn"


def test_cached_system_prompt_is_written_once_then_read(client: anthropic.Anthropic) -> None:
    batch = client.messages.batches.create(requests=requests(4))
    wait_ended(client, batch.id)
    usages = [message_of(line.result).usage for line in client.messages.batches.results(batch.id)]
    assert sum(1 for u in usages if u.cache_creation_input_tokens) == 1
    assert sum(1 for u in usages if u.cache_read_input_tokens) == 3
    assert all(u.input_tokens > 0 for u in usages)


def test_invalid_parameters_come_back_as_errored_results(client: anthropic.Anthropic) -> None:
    bad: list[Any] = [
        {"custom_id": "ok", "params": params()},
        {"custom_id": "no_messages", "params": params(messages=[])},
        {"custom_id": "extra", "params": params(response_format={"type": "json"})},
        {"custom_id": "tool", "params": params(tool_choice={"type": "tool", "name": "missing"})},
        {"custom_id": "short", "params": params(tool=False, max_tokens=2)},
    ]
    batch = client.messages.batches.create(requests=bad)
    ended = wait_ended(client, batch.id)
    assert ended.request_counts.errored == 3
    by_id = {line.custom_id: line.result for line in client.messages.batches.results(batch.id)}
    assert by_id["ok"].type == "succeeded"
    for custom_id in ("no_messages", "extra", "tool"):
        assert error_type_of(by_id[custom_id]) == "invalid_request_error"
    assert message_of(by_id["short"]).stop_reason == "max_tokens"


@pytest.mark.parametrize(
    ("requests_body", "fragment"),
    [
        ([{"custom_id": "has space", "params": params()}], "custom_id: String should match"),
        ([{"custom_id": "x" * 65, "params": params()}], "custom_id: String should match"),
        (
            [{"custom_id": "a", "params": params()}, {"custom_id": "a", "params": params()}],
            "Duplicate",
        ),
        ([], "at least 1 item"),
    ],
)
def test_create_rejects_a_malformed_request_list(
    client: anthropic.Anthropic, requests_body: list, fragment: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.batches.create(requests=requests_body)
    assert body_of(caught.value)["error"]["type"] == "invalid_request_error"
    assert fragment in body_of(caught.value)["error"]["message"]


def test_create_rejects_more_requests_than_the_limit(
    server: AnthropicEmulatorServer, client: anthropic.Anthropic
) -> None:
    server.configure(max_requests_per_batch=3)
    with pytest.raises(anthropic.BadRequestError, match="at most 3 items"):
        client.messages.batches.create(requests=requests(4))


def test_list_pages_newest_first_both_ways(client: anthropic.Anthropic) -> None:
    ids = [client.messages.batches.create(requests=requests(1)).id for _ in range(5)]
    newest_first = list(reversed(ids))
    page = client.messages.batches.list(limit=2)
    assert [b.id for b in page.data] == newest_first[:2]
    assert page.has_more and page.first_id == newest_first[0] and page.last_id == newest_first[1]
    assert [b.id for b in client.messages.batches.list(limit=2)] == newest_first, "auto-paging"
    older = client.messages.batches.list(limit=2, after_id=newest_first[1])
    assert [b.id for b in older.data] == newest_first[2:4]
    newer = client.messages.batches.list(limit=2, before_id=newest_first[4])
    assert [b.id for b in newer.data] == newest_first[2:4]
    assert newer.has_more
    last = client.messages.batches.list(limit=2, after_id=newest_first[3])
    assert [b.id for b in last.data] == newest_first[4:] and not last.has_more


def test_cancel_ends_with_canceled_results(
    server: AnthropicEmulatorServer, client: anthropic.Anthropic
) -> None:
    server.configure(in_progress_seconds=3600, cancelling_seconds=0)
    batch = client.messages.batches.create(requests=requests(10))
    with pytest.raises(anthropic.BadRequestError, match="only be deleted once"):
        client.messages.batches.delete(batch.id)
    with pytest.raises(anthropic.AnthropicError, match="results_url"):
        list(client.messages.batches.results(batch.id))
    cancelled = client.messages.batches.cancel(batch.id)
    assert cancelled.cancel_initiated_at is not None
    ended = wait_ended(client, batch.id)
    assert ended.request_counts.canceled == 10
    assert {r.result.type for r in client.messages.batches.results(batch.id)} == {"canceled"}
    with pytest.raises(anthropic.BadRequestError, match="already ended"):
        client.messages.batches.cancel(batch.id)


def test_canceling_is_a_state_of_its_own(
    server: AnthropicEmulatorServer, client: anthropic.Anthropic
) -> None:
    server.configure(in_progress_seconds=3600, cancelling_seconds=3600)
    batch = client.messages.batches.create(requests=requests(2))
    assert client.messages.batches.cancel(batch.id).processing_status == "canceling"
    assert client.messages.batches.retrieve(batch.id).processing_status == "canceling"


def test_delete_removes_an_ended_batch(client: anthropic.Anthropic) -> None:
    batch = client.messages.batches.create(requests=requests(1))
    wait_ended(client, batch.id)
    deleted = client.messages.batches.delete(batch.id)
    assert deleted.type == "message_batch_deleted" and deleted.id == batch.id
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.messages.batches.retrieve(batch.id)
    assert body_of(caught.value)["error"]["type"] == "not_found_error"
    assert caught.value.request_id
    assert batch.id not in [b.id for b in client.messages.batches.list()]


def test_authentication_and_version_headers(server: AnthropicEmulatorServer) -> None:
    wrong = anthropic.Anthropic(base_url=server.base_url, api_key="nope", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        wrong.messages.batches.list()
    assert body_of(caught.value)["error"]["type"] == "authentication_error"
    url = f"{server.base_url}/v1/messages/batches"
    legacy = httpx2.get(
        url, headers={"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}
    )
    assert legacy.status_code == 200 and legacy.headers["request-id"]
    missing = httpx2.get(url, headers={"x-api-key": "sk-ant-test"})
    assert missing.status_code == 400
    assert "anthropic-version" in missing.json()["error"]["message"]
    assert httpx2.get(url, headers={"anthropic-version": "2023-06-01"}).status_code == 401
