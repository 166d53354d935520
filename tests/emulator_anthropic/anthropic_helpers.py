"""Request builders and polling for the Anthropic emulator tests."""

from __future__ import annotations

import time
from typing import Any, cast

import anthropic
from anthropic.types import Message, TextBlock, ToolUseBlock
from anthropic.types.messages import MessageBatchErroredResult, MessageBatchSucceededResult

API_KEY = "sk-ant-test"

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sentiment": {"type": "string", "enum": ["POSITIVE", "NEGATIVE", "NEUTRAL"]},
        "summary": {"type": "string", "maxLength": 40},
        "questions": {"type": "array", "items": {"type": "string"}},
        "score": {"type": "integer", "minimum": 1, "maximum": 5},
        "flag": {"anyOf": [{"type": "null"}, {"type": "boolean"}]},
        "detail": {"$ref": "#/$defs/detail"},
    },
    "required": ["sentiment", "summary", "questions", "score", "flag", "detail"],
    "additionalProperties": False,
    "$defs": {
        "detail": {
            "type": "object",
            "properties": {"topic": {"type": "string", "enum": ["PAY", "LEAVE"]}},
            "required": ["topic"],
            "additionalProperties": False,
        }
    },
}
ANGRY = "user: This is unacceptable, why is my salary late again? When will it be paid?"


def params(
    transcript: str = ANGRY, *, tool: bool = True, max_tokens: int = 1024, **extra: Any
) -> dict[str, Any]:
    """Messages parameters as the provider sends them: system, one user turn, a forced tool."""
    out: dict[str, Any] = {
        "model": "claude-haiku-4-5",
        "max_tokens": max_tokens,
        "system": [
            {"type": "text", "text": "Analyse the chat.", "cache_control": {"type": "ephemeral"}}
        ],
        "messages": [{"role": "user", "content": transcript}],
    }
    if tool:
        out["tools"] = [{"name": "answer", "description": "The analysis.", "input_schema": SCHEMA}]
        out["tool_choice"] = {"type": "tool", "name": "answer"}
    out.update(extra)
    return out


def requests(count: int, prefix: str = "r") -> list[Any]:
    """``count`` requests with custom ids ``<prefix>0``..."""
    return [{"custom_id": f"{prefix}{i}", "params": params()} for i in range(count)]


def wait_ended(client: anthropic.Anthropic, batch_id: str, timeout: float = 30.0) -> Any:
    """Poll until the batch has ended (generous deadline, no timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        batch = client.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended" or time.monotonic() > deadline:
            return batch
        time.sleep(0.05)


def conforms(value: Any, schema: dict[str, Any], defs: dict[str, Any] | None = None) -> bool:
    """A small JSON-schema check covering what SCHEMA uses (type, enum, anyOf, $ref, bounds)."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return conforms(value, defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in schema:
        return any(conforms(value, option, defs) for option in schema["anyOf"])
    if "enum" in schema and value not in schema["enum"]:
        return False
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        if not isinstance(value, dict) or not set(schema.get("required", [])) <= set(value):
            return False
        if schema.get("additionalProperties") is False and set(value) - set(props):
            return False
        return all(conforms(value[k], props[k], defs) for k in value)
    if kind == "array":
        return isinstance(value, list) and all(conforms(v, schema["items"], defs) for v in value)
    if kind == "string":
        return isinstance(value, str) and len(value) <= schema.get("maxLength", len(value))
    if kind == "integer":
        return isinstance(value, int) and schema.get("minimum", value) <= value <= schema.get(
            "maximum", value
        )
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    return True


def message_of(result: Any) -> Message:
    """The message of a succeeded result (fails the test otherwise)."""
    assert isinstance(result, MessageBatchSucceededResult), result
    return result.message


def error_type_of(result: Any) -> str:
    """The error type of an errored result (fails the test otherwise)."""
    assert isinstance(result, MessageBatchErroredResult), result
    return str(result.error.error.type)


def tool_input(message: Message) -> dict[str, Any]:
    """The input of the message's only block, a tool call."""
    (block,) = message.content
    assert isinstance(block, ToolUseBlock), block
    return cast(dict[str, Any], block.input)


def text_of(message: Message) -> str:
    """The text of the message's only block."""
    (block,) = message.content
    assert isinstance(block, TextBlock), block
    return block.text


def body_of(error: anthropic.APIStatusError) -> dict[str, Any]:
    """The JSON body of an error answer."""
    return cast(dict[str, Any], error.body)
