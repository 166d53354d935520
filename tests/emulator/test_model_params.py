"""The emulator keeps up with today's API, through the real SDK: model parameter rules as
per-line 400s, strict json_schema answers, /v1/responses lines, refusals, truncation,
insufficient_quota, a validation failure naming its line, and file expiry."""

from __future__ import annotations

import copy
from typing import Any

import openai
import orjson
import pytest
from openai.types.responses import Response, ResponseOutputMessage, ResponseOutputRefusal

from plugins.emulator import EmulatorServer
from plugins.emulator.answers import INVALID_ENUM
from tests.emulator.emulator_helpers import jsonl, parse_jsonl, wait_for

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["sentiment", "category", "urgency", "topics", "summary", "needs_followup"],
    "properties": {
        "sentiment": {"type": "string", "enum": ["POSITIVE", "NEUTRAL", "NEGATIVE"]},
        "category": {"type": "string", "enum": ["PAY", "LEAVE", "OTHER"]},
        "urgency": {"type": "integer", "minimum": 1, "maximum": 5},
        "topics": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "score"],
                "properties": {"name": {"type": "string"}, "score": {"type": "number"}},
            },
        },
        "summary": {"type": "string", "maxLength": 40},
        "needs_followup": {"type": ["boolean", "null"]},
    },
}
TRANSCRIPT = "user: My salary is late again and I am frustrated. When will I be paid?"


def _chat(custom_id: str, model: str, **body: Any) -> dict[str, Any]:
    """A chat completions line with a system and a user message."""
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": model,
            "messages": [
                {"role": "system", "content": "Classify the chat."},
                {"role": "user", "content": TRANSCRIPT},
            ],
            **body,
        },
    }


def _strict(schema: dict[str, Any] = SCHEMA, strict: bool = True) -> dict[str, Any]:
    """A chat ``response_format`` asking for ``schema``."""
    return {
        "type": "json_schema",
        "json_schema": {"name": "ticket", "schema": schema, "strict": strict},
    }


def _responses_line(custom_id: str, model: str, **body: Any) -> dict[str, Any]:
    """A Responses API line with instructions, the transcript and a strict schema."""
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/responses",
        "body": {
            "model": model,
            "instructions": "Classify the chat.",
            "input": [{"role": "user", "content": TRANSCRIPT}],
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "ticket",
                    "schema": SCHEMA,
                    "strict": True,
                }
            },
            **body,
        },
    }


def _run(
    client: openai.OpenAI, lines: list[dict[str, Any]], endpoint: str = "/v1/chat/completions"
) -> tuple[Any, dict[str, dict[str, Any]]]:
    """Submit lines, wait for the end, and return the batch and every result line by custom_id."""
    uploaded = client.files.create(file=("in.jsonl", jsonl(lines)), purpose="batch")
    batch = client.batches.create(
        input_file_id=uploaded.id,
        endpoint=endpoint,  # type: ignore[arg-type]
        completion_window="24h",
    )
    batch = wait_for(client, batch.id, {"completed", "failed", "expired", "cancelled"})
    results: dict[str, dict[str, Any]] = {}
    for file_id in (batch.output_file_id, batch.error_file_id):
        if file_id:
            for line in parse_jsonl(client.files.content(file_id).text):
                results[line["custom_id"]] = line
    return batch, results


def _error(line: dict[str, Any]) -> dict[str, Any]:
    """The ``error`` object of a failed line's response body."""
    assert line["response"]["status_code"] == 400
    return line["response"]["body"]["error"]


def _valid(value: dict[str, Any]) -> None:
    """``value`` matches SCHEMA (checked by hand: every rule the schema uses)."""
    assert set(value) == set(SCHEMA["properties"])
    assert value["sentiment"] in ("POSITIVE", "NEUTRAL", "NEGATIVE")
    assert value["category"] in ("PAY", "LEAVE", "OTHER")
    assert isinstance(value["urgency"], int) and 1 <= value["urgency"] <= 5
    assert all(set(t) == {"name", "score"} for t in value["topics"])
    assert isinstance(value["summary"], str) and len(value["summary"]) <= 40
    assert value["needs_followup"] in (True, False, None)


def test_reasoning_models_reject_max_tokens_and_temperature_per_line(
    client: openai.OpenAI,
) -> None:
    batch, results = _run(
        client,
        [
            _chat("max", "gpt-5-mini", max_tokens=500),
            _chat("temp", "gpt-5-mini", max_completion_tokens=2000, temperature=0.1),
            _chat("both", "gpt-5-mini", max_tokens=5, max_completion_tokens=5),
            _chat("ok", "gpt-5-mini", max_completion_tokens=2000, reasoning_effort="low"),
        ],
    )
    assert batch.status == "completed" and batch.request_counts.failed == 3
    max_tokens = _error(results["max"])
    assert max_tokens["code"] == "unsupported_parameter" and max_tokens["param"] == "max_tokens"
    assert max_tokens["message"] == (
        "Unsupported parameter: 'max_tokens' is not supported with this model. "
        "Use 'max_completion_tokens' instead."
    )
    temperature = _error(results["temp"])
    assert temperature["code"] == "unsupported_value"
    assert temperature["message"] == (
        "Unsupported value: 'temperature' does not support 0.1 with this model. "
        "Only the default (1) value is supported."
    )
    assert _error(results["both"])["code"] == "invalid_parameter_combination"
    ok = results["ok"]["response"]["body"]
    assert ok["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0
    assert (
        ok["usage"]["completion_tokens"]
        > ok["usage"]["completion_tokens_details"]["reasoning_tokens"]
    )
    assert batch.usage.output_tokens_details.reasoning_tokens > 0


def test_other_models_keep_max_tokens_and_temperature(client: openai.OpenAI) -> None:
    _, results = _run(
        client,
        [
            _chat("a", "gpt-4o-mini", max_tokens=500, temperature=0.1),
            _chat("b", "gpt-4o-mini", max_tokens=500, reasoning_effort="low"),
        ],
    )
    assert results["a"]["response"]["status_code"] == 200
    assert _error(results["b"])["param"] == "reasoning_effort"


def test_strict_schema_answers_conform_even_with_invalid_answer_faults(
    server: EmulatorServer, client: openai.OpenAI
) -> None:
    server.configure(rate_invalid_answers=1.0)
    lines = [_chat(f"s{i}", "gpt-4o-mini", response_format=_strict()) for i in range(5)]
    lines += [
        _chat(f"n{i}", "gpt-4o-mini", response_format=_strict(strict=False)) for i in range(5)
    ]
    _, results = _run(client, lines)
    for index in range(5):
        content = results[f"s{index}"]["response"]["body"]["choices"][0]["message"]["content"]
        _valid(orjson.loads(content))
        broken = results[f"n{index}"]["response"]["body"]["choices"][0]["message"]["content"]
        assert INVALID_ENUM in broken


def test_a_schema_that_breaks_strict_rules_is_a_per_line_400(client: openai.OpenAI) -> None:
    loose = copy.deepcopy(SCHEMA)
    del loose["properties"]["topics"]["items"]["additionalProperties"]
    _, results = _run(client, [_chat("x", "gpt-4o-mini", response_format=_strict(loose))])
    error = _error(results["x"])
    assert error["message"].startswith("Invalid schema for response_format 'ticket': ")
    assert "'additionalProperties' is required to be supplied and to be false" in error["message"]
    assert "'topics', 'items'" in error["message"]


@pytest.mark.parametrize("model", ["gpt-5-mini", "gpt-4o-mini"])
def test_responses_lines_carry_response_objects(client: openai.OpenAI, model: str) -> None:
    reasoning = model.startswith("gpt-5")
    extra = {"reasoning": {"effort": "low"}} if reasoning else {"temperature": 0.2}
    batch, results = _run(
        client,
        [_responses_line("r1", model, max_output_tokens=4000, **extra)],
        endpoint="/v1/responses",
    )
    assert batch.status == "completed" and batch.request_counts.completed == 1
    body = results["r1"]["response"]["body"]
    response = Response.model_validate(body)
    kinds = [item.type for item in response.output]
    assert kinds == (["reasoning", "message"] if reasoning else ["message"])
    _valid(orjson.loads(response.output_text))
    usage = response.usage
    assert usage is not None and usage.input_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert (usage.output_tokens_details.reasoning_tokens > 0) == reasoning
    assert usage.input_tokens_details.cached_tokens == 0


def test_chat_only_parameters_on_responses_say_where_they_moved(client: openai.OpenAI) -> None:
    line = _responses_line("r", "gpt-5-mini", max_completion_tokens=100)
    _, results = _run(client, [line], endpoint="/v1/responses")
    error = _error(results["r"])
    assert error["param"] == "max_completion_tokens"
    assert "has moved to 'max_output_tokens'" in error["message"]


def test_a_small_output_limit_truncates(client: openai.OpenAI) -> None:
    for line in (
        _chat("c", "gpt-5-mini", max_completion_tokens=200, response_format=_strict()),
        _chat("c", "gpt-4o-mini", max_tokens=5, response_format=_strict()),
    ):
        _, results = _run(client, [line])
        choice = results["c"]["response"]["body"]["choices"][0]
        assert choice["finish_reason"] == "length"
    _, results = _run(
        client, [_responses_line("r", "gpt-5-mini", max_output_tokens=200)], "/v1/responses"
    )
    response = Response.model_validate(results["r"]["response"]["body"])
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"


def test_refusals_come_as_refusal_fields(server: EmulatorServer, client: openai.OpenAI) -> None:
    server.configure(rate_refusals=1.0)
    _, results = _run(client, [_chat("c", "gpt-4o-mini", response_format=_strict())])
    message = results["c"]["response"]["body"]["choices"][0]["message"]
    assert message["content"] is None and message["refusal"]
    _, results = _run(client, [_responses_line("r", "gpt-5-mini")], "/v1/responses")
    response = Response.model_validate(results["r"]["response"]["body"])
    message = response.output[-1]
    assert isinstance(message, ResponseOutputMessage)
    (content,) = message.content
    assert isinstance(content, ResponseOutputRefusal) and content.refusal


def test_insufficient_quota_is_a_429_on_upload_and_create(
    server: EmulatorServer, client: openai.OpenAI
) -> None:
    uploaded = client.files.create(
        file=("in.jsonl", jsonl([_chat("a", "gpt-4o-mini")])), purpose="batch"
    )
    server.configure(insufficient_quota=True)
    for call in (
        lambda: client.files.create(file=("in.jsonl", b"{}\n"), purpose="batch"),
        lambda: client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        ),
    ):
        with pytest.raises(openai.RateLimitError) as raised:
            call()
        assert raised.value.code == "insufficient_quota"
        assert "exceeded your current quota" in raised.value.message
    assert client.batches.list().data == []


def test_validation_names_the_line_it_cannot_accept(
    server: EmulatorServer, client: openai.OpenAI
) -> None:
    server.configure(reject_line_marker="POISON")
    lines = [_chat(f"r{i}", "gpt-4o-mini") for i in range(4)]
    lines[2]["body"]["messages"][1]["content"] += " POISON"
    batch, _ = _run(client, lines)
    assert batch.status == "failed"
    (error,) = batch.errors.data
    assert error.line == 3 and error.code == "invalid_request"


def test_expiry_fields_are_reported(client: openai.OpenAI) -> None:
    uploaded = client.files.create(
        file=("in.jsonl", jsonl([_chat("a", "gpt-4o-mini")])),
        purpose="batch",
        expires_after={"anchor": "created_at", "seconds": 7 * 86_400},
    )
    assert uploaded.expires_at == uploaded.created_at + 7 * 86_400
    batch = client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        output_expires_after={"anchor": "created_at", "seconds": 3 * 86_400},
    )
    batch = wait_for(client, batch.id, {"completed"})
    output = client.files.retrieve(batch.output_file_id or "")
    assert output.expires_at == output.created_at + 3 * 86_400
