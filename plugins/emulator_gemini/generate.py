"""Answer one GenerateContentRequest as ``models.generateContent`` would: a GenerateContentResponse
(candidates, finishReason, usageMetadata) or a google.rpc.Status for a request the API refuses.

The content is the shared emulator's deterministic analysis of the last user turn, made to conform
to ``responseSchema`` / ``responseJsonSchema`` when the request asks for JSON. Thinking tokens
(``thoughts_tokens``) count against ``maxOutputTokens`` as on thinking models: a limit they
exhaust yields ``MAX_TOKENS`` and no text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from plugins.emulator import model

from . import ids, schema
from .errors import rpc_status

JSON_MIME = "application/json"
TEXT_MIMES = ("text/plain", "text/x.enum", JSON_MIME)


@dataclass(frozen=True)
class Answer:
    """One executed request: a response or an error, and its token counts."""

    response: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    input_tokens: int = 0
    output_tokens: int = 0


class RequestError(ValueError):
    """A request the API would refuse (INVALID_ARGUMENT); the message says what and where."""


def field(obj: Mapping[str, Any], name: str) -> Any:
    """A proto field by its lowerCamelCase name or its snake_case one."""
    if name in obj:
        return obj[name]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
    return obj.get(snake)


def check(request: Any) -> dict[str, Any]:
    """Parse what the API checks synchronously; returns the normalised output settings."""
    if not isinstance(request, Mapping):
        raise RequestError("Invalid value at 'request': expected a GenerateContentRequest object.")
    contents = field(request, "contents")
    if not isinstance(contents, list) or not contents:
        raise RequestError("* GenerateContentRequest.contents: contents is not specified")
    for index, content in enumerate(contents):
        if not isinstance(content, Mapping) or not isinstance(field(content, "parts"), list):
            raise RequestError(
                f"* GenerateContentRequest.contents[{index}].parts: contents.parts must not be "
                "empty."
            )
        role = field(content, "role")
        if role not in (None, "user", "model"):
            raise RequestError(
                f"Please use a valid role: user, model. (contents[{index}].role = {role!r})"
            )
    config = field(request, "generationConfig") or {}
    if not isinstance(config, Mapping):
        raise RequestError("Invalid value at 'request.generation_config': expected an object.")
    mime = field(config, "responseMimeType") or "text/plain"
    if mime not in TEXT_MIMES:
        raise RequestError(
            f"* GenerateContentRequest.generation_config.response_mime_type: allowed mimetypes "
            f"are {', '.join(TEXT_MIMES)}; got {mime}"
        )
    raw_schema = field(config, "responseSchema")
    raw_json_schema = field(config, "responseJsonSchema")
    if raw_schema is not None and raw_json_schema is not None:
        raise RequestError(
            "* GenerateContentRequest.generation_config: response_schema and "
            "response_json_schema cannot both be set"
        )
    try:
        normalised = (
            schema.normalise(raw_schema)
            if raw_schema is not None
            else schema.from_json_schema(raw_json_schema)
            if raw_json_schema is not None
            else None
        )
    except schema.SchemaError as exc:
        raise RequestError(str(exc)) from exc
    if normalised is not None and mime == "text/plain":
        raise RequestError(
            "* GenerateContentRequest.generation_config.response_mime_type: a response schema "
            "needs response_mime_type application/json (or text/x.enum)"
        )
    max_tokens = field(config, "maxOutputTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise RequestError(
            "* GenerateContentRequest.generation_config.max_output_tokens: must be a positive "
            f"integer, got {max_tokens!r}"
        )
    temperature = field(config, "temperature")
    if temperature is not None and (
        not isinstance(temperature, int | float) or not 0 <= temperature <= 2
    ):
        raise RequestError(
            "* GenerateContentRequest.generation_config.temperature: must be within [0.0, 2.0]"
        )
    thinking = field(config, "thinkingConfig") or {}
    return {
        "mime": mime,
        "schema": normalised,
        "max_tokens": max_tokens,
        "budget": field(thinking, "thinkingBudget") if isinstance(thinking, Mapping) else None,
    }


def check_schemas(request: Any) -> None:
    """What the API refuses when it parses the request at all (unknown fields of a schema)."""
    config = field(request, "generationConfig") if isinstance(request, Mapping) else None
    if not isinstance(config, Mapping):
        return
    try:
        if field(config, "responseSchema") is not None:
            schema.normalise(field(config, "responseSchema"))
        if field(config, "responseJsonSchema") is not None:
            schema.from_json_schema(field(config, "responseJsonSchema"))
    except schema.SchemaError as exc:
        raise RequestError(str(exc)) from exc


def answer(request: Any, model_name: str, thoughts_tokens: int) -> Answer:
    """Execute one request: its response, or its INVALID_ARGUMENT status."""
    try:
        settings = check(request)
    except RequestError as exc:
        return Answer(error=rpc_status("INVALID_ARGUMENT", str(exc)))
    turns = [_turn(content) for content in field(request, "contents")]
    system = field(request, "systemInstruction")
    system_text = _text(system) if isinstance(system, Mapping) else ""
    prompt = math.ceil((sum(len(t) for _, t in turns) + len(system_text)) / 4) + 4 * len(turns)
    user_turns = [text for role, text in turns if role != "model"]
    hint = model.analyze(user_turns[-1] if user_turns else "")
    text = _content(settings, hint)
    thoughts = _thoughts(thoughts_tokens, settings["budget"])
    output = math.ceil(len(text) / 4)
    finish = "STOP"
    limit = settings["max_tokens"]
    if limit is not None and thoughts + output > limit:
        finish = "MAX_TOKENS"
        thoughts = min(thoughts, limit)
        room = limit - thoughts
        text = text[: room * 4]
        output = math.ceil(len(text) / 4)
    content: dict[str, Any] = {"role": "model"}
    if text:
        content["parts"] = [{"text": text}]
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": output,
        "totalTokenCount": prompt + output + thoughts,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    response = {
        "candidates": [{"content": content, "finishReason": finish, "index": 0}],
        "usageMetadata": usage,
        "modelVersion": model_name,
        "responseId": ids.response_id(),
    }
    return Answer(response=response, input_tokens=prompt, output_tokens=output + thoughts)


def _thoughts(configured: int, budget: Any) -> int:
    """Thinking tokens spent: the configured amount, capped by a thinking budget (0 turns it off)."""
    if isinstance(budget, int) and budget >= 0:
        return min(configured, budget)
    return configured


def _content(settings: Mapping[str, Any], hint: dict[str, Any]) -> str:
    """The answer text: JSON conforming to the schema, free JSON, an enum value, or prose."""
    shape = settings["schema"]
    if settings["mime"] == "text/x.enum" and shape is not None:
        return str(schema.conform(shape, hint.get("category")))
    if settings["mime"] == JSON_MIME:
        value = schema.conform(shape, hint) if shape is not None else hint
        return orjson.dumps(value).decode()
    return str(hint.get("summary") or "")


def _turn(content: Mapping[str, Any]) -> tuple[str, str]:
    """(role, text) of one Content."""
    return str(field(content, "role") or "user"), _text(content)


def _text(content: Mapping[str, Any]) -> str:
    """The text parts of a Content, joined."""
    parts = field(content, "parts") or []
    return "".join(
        str(part.get("text", "")) for part in parts if isinstance(part, Mapping) and "text" in part
    )
