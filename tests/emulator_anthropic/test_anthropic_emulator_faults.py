"""Fault injection of the Anthropic emulator, seen through the real anthropic SDK."""

from __future__ import annotations

import anthropic
import httpx2
import orjson
import pytest

from plugins.emulator_anthropic import AnthropicEmulatorServer
from tests.emulator_anthropic.anthropic_helpers import (
    API_KEY,
    SCHEMA,
    body_of,
    conforms,
    error_type_of,
    message_of,
    requests,
    tool_input,
    wait_ended,
)


def _retrying(server: AnthropicEmulatorServer, retries: int = 2) -> anthropic.Anthropic:
    """A client with the SDK's own retries on."""
    return anthropic.Anthropic(
        base_url=server.base_url, api_key=API_KEY, max_retries=retries, timeout=10
    )


def _raw_results(server: AnthropicEmulatorServer, batch_id: str) -> list[bytes]:
    """The results JSONL as raw lines (the SDK's decoder stops at the first bad line)."""
    response = httpx2.get(
        f"{server.base_url}/v1/messages/batches/{batch_id}/results",
        headers={"x-api-key": API_KEY, "anthropic-version": "2023-06-01"},
    )
    assert response.status_code == 200
    return [line for line in response.content.splitlines() if line.strip()]


def test_429_carries_retry_after_and_the_sdk_retries(
    server: AnthropicEmulatorServer, client: anthropic.Anthropic
) -> None:
    server.configure(first_429={"batches.create": 1}, retry_after_seconds=0.01)
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.batches.create(requests=requests(1))
    assert body_of(caught.value)["error"]["type"] == "rate_limit_error"
    assert caught.value.response.headers["retry-after"] == "1"
    server.configure(first_429={"batches.retrieve": 2}, retry_after_seconds=0.01)
    batch = client.messages.batches.create(requests=requests(1))
    assert _retrying(server).messages.batches.retrieve(batch.id).id == batch.id


def test_529_is_overloaded_and_500_an_api_error(
    server: AnthropicEmulatorServer, client: anthropic.Anthropic
) -> None:
    server.configure(first_529={"batches.list": 1}, first_500={"batches.list": 1})
    with pytest.raises(anthropic.OverloadedError) as overloaded:
        client.messages.batches.list()
    assert overloaded.value.status_code == 529
    assert body_of(overloaded.value)["error"]["type"] == "overloaded_error"
    with pytest.raises(anthropic.InternalServerError) as internal:
        client.messages.batches.list()
    assert body_of(internal.value)["error"]["type"] == "api_error"
    server.configure(first_529={"*": 2})
    assert _retrying(server).messages.batches.list().data == []


def test_lost_create_answer_leaves_a_batch_the_client_never_heard_of(
    server: AnthropicEmulatorServer, client: anthropic.Anthropic
) -> None:
    server.configure(first_lost_create=1)
    with pytest.raises(anthropic.APIConnectionError):
        client.messages.batches.create(requests=requests(3, prefix="lost"))
    (entry,) = server.ledger()["batches"]
    assert entry["create_response_lost"] and entry["custom_ids"] == ["lost0", "lost1", "lost2"]
    listed = client.messages.batches.list()
    assert [b.id for b in listed.data] == [entry["id"]]


def test_sdk_retries_turn_a_lost_create_into_two_batches(server: AnthropicEmulatorServer) -> None:
    """Why a create must run without SDK retries: it sends no idempotency key."""
    server.configure(first_lost_create=1)
    _retrying(server).messages.batches.create(requests=requests(2))
    assert len(server.ledger()["batches"]) == 2


def test_validation_failure_rejects_the_create(
    server: AnthropicEmulatorServer, client: anthropic.Anthropic
) -> None:
    server.configure(first_validation_failure=1)
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.batches.create(requests=requests(2))
    assert body_of(caught.value)["error"]["type"] == "invalid_request_error"
    assert server.ledger()["batches"] == []
    assert client.messages.batches.create(requests=requests(2)).processing_status == "in_progress"


def test_expiry_keeps_partial_results(
    server: AnthropicEmulatorServer, client: anthropic.Anthropic
) -> None:
    server.configure(first_expire=1, expire_done_fraction=0.4)
    batch = wait_ended(client, client.messages.batches.create(requests=requests(10)).id)
    assert batch.request_counts.succeeded == 4 and batch.request_counts.expired == 6
    kinds = [line.result.type for line in client.messages.batches.results(batch.id)]
    assert sorted(kinds) == ["expired"] * 6 + ["succeeded"] * 4


def test_expiry_by_the_clock(server: AnthropicEmulatorServer, client: anthropic.Anthropic) -> None:
    server.configure(in_progress_seconds=3600, expiry_seconds=0)
    batch = wait_ended(client, client.messages.batches.create(requests=requests(3)).id)
    assert batch.request_counts.expired == 3


@pytest.mark.parametrize("error_type", ["api_error", "overloaded_error", "invalid_request_error"])
def test_errored_results(
    server: AnthropicEmulatorServer, client: anthropic.Anthropic, error_type: str
) -> None:
    server.configure(rate_line_error=1.0, line_error_type=error_type)
    batch = wait_ended(client, client.messages.batches.create(requests=requests(3)).id)
    assert batch.request_counts.errored == 3
    for line in client.messages.batches.results(batch.id):
        assert line.result.type == "errored"
        assert error_type_of(line.result) == error_type


def test_result_file_faults(server: AnthropicEmulatorServer, client: anthropic.Anthropic) -> None:
    server.configure(
        rate_garbage_lines=0.2,
        rate_duplicate_lines=0.2,
        rate_missing_lines=0.2,
        rate_unknown_id_lines=0.2,
        seed=7,
    )
    batch = wait_ended(client, client.messages.batches.create(requests=requests(60)).id)
    assert batch.request_counts.succeeded == 60, "counts do not know about file faults"
    parsed, garbled = [], 0
    for raw in _raw_results(server, batch.id):
        try:
            parsed.append(orjson.loads(raw)["custom_id"])
        except orjson.JSONDecodeError:
            garbled += 1
    known = {f"r{i}" for i in range(60)}
    assert garbled > 0
    assert any(custom_id not in known for custom_id in parsed), "unknown ids"
    assert len(parsed) != len(set(parsed)), "duplicates"
    assert len(known - set(parsed)) > garbled, "missing lines beyond the garbled ones"


def test_line_faults_by_request_follow_the_custom_id(
    server: AnthropicEmulatorServer, client: anthropic.Anthropic
) -> None:
    server.configure(rate_line_error=0.5, line_faults_by_request=True, seed=3)
    first = wait_ended(client, client.messages.batches.create(requests=requests(20)).id)
    errored = {
        line.custom_id
        for line in client.messages.batches.results(first.id)
        if line.result.type == "errored"
    }
    assert 0 < len(errored) < 20


def test_unshuffled_results_keep_request_order(
    server: AnthropicEmulatorServer, client: anthropic.Anthropic
) -> None:
    server.configure(shuffle_output=False)
    batch = wait_ended(client, client.messages.batches.create(requests=requests(10)).id)
    assert [line.custom_id for line in client.messages.batches.results(batch.id)] == [
        f"r{i}" for i in range(10)
    ]


def test_admin_config_needs_the_key_and_hides_it(server: AnthropicEmulatorServer) -> None:
    url = f"{server.base_url}/_emulator/config"
    assert httpx2.get(url).status_code == 401
    shown = httpx2.get(url, headers={"x-api-key": API_KEY}).json()
    assert shown["api_key"] == "***"
    changed = httpx2.post(
        url, headers={"x-api-key": API_KEY}, json={"rate_529": 0.5, "api_key": "***"}
    )
    assert changed.status_code == 200 and server.config.rate_529 == 0.5
    assert server.config.api_key == API_KEY
    bad = httpx2.post(url, headers={"x-api-key": API_KEY}, json={"first_429": {"files.create": 1}})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    assert httpx2.get(f"{server.base_url}/_emulator/health").json()["status"] == "ok"


def test_invalid_answers_and_refusals(
    server: AnthropicEmulatorServer, client: anthropic.Anthropic
) -> None:
    server.configure(rate_invalid_answers=1.0)
    batch = wait_ended(client, client.messages.batches.create(requests=requests(2)).id)
    for line in client.messages.batches.results(batch.id):
        assert not conforms(tool_input(message_of(line.result)), SCHEMA)
    server.configure(rate_invalid_answers=0.0, rate_refusals=1.0)
    batch = wait_ended(client, client.messages.batches.create(requests=requests(2)).id)
    for line in client.messages.batches.results(batch.id):
        assert line.result.type == "succeeded"
        assert message_of(line.result).stop_reason == "refusal"


def test_exhausted_credit_refuses_creates(
    server: AnthropicEmulatorServer, client: anthropic.Anthropic
) -> None:
    server.configure(credit_exhausted=True)
    with pytest.raises(anthropic.BadRequestError, match="credit balance is too low"):
        client.messages.batches.create(requests=requests(1))
    assert client.messages.batches.list().data == []
