"""Neutral requests as Gemini batch input records: ``{"key", "request": GenerateContentRequest}``.

The request carries ``systemInstruction``, ``contents`` (roles ``user`` and ``model``) and
``generationConfig`` with ``responseMimeType: application/json``, the task's schema converted to
Gemini's ``responseSchema``, ``maxOutputTokens`` and ``temperature``; a reasoning effort becomes a
``thinkingConfig.thinkingBudget``. The same record serves both inputs: a JSONL file line as it is,
or an SDK ``InlinedRequest`` (see :func:`inlined_request`) for a small batch sent inline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from plugins.common.exchange import LLMRequest

from .schema import to_gemini

ROLES = {"user": "user", "assistant": "model"}
THINKING_BUDGETS = {"none": 0, "minimal": 0, "low": 1024, "medium": 8192, "high": 24576}


@dataclass(slots=True)
class GeminiEncoder:
    """Encodes neutral requests for one model; converted schemas are remembered by identity."""

    model: str
    max_output_tokens: int | None = None
    _schemas: dict[int, tuple[Mapping[str, Any], dict[str, Any]]] = field(default_factory=dict)

    def request(self, request: LLMRequest) -> dict[str, Any]:
        """The GenerateContentRequest of one neutral request (REST JSON, camelCase)."""
        config: dict[str, Any] = {
            "responseMimeType": "application/json",
            "maxOutputTokens": self.max_output_tokens or request.max_output_tokens,
        }
        if request.schema is not None:
            config["responseSchema"] = self._schema(request.schema)
        if request.temperature is not None:
            config["temperature"] = request.temperature
        if request.reasoning_effort in THINKING_BUDGETS:
            config["thinkingConfig"] = {
                "thinkingBudget": THINKING_BUDGETS[request.reasoning_effort]
            }
        body: dict[str, Any] = {
            "contents": [
                {"role": ROLES.get(role, "user"), "parts": [{"text": content}]}
                for role, content in request.messages
            ],
            "generationConfig": config,
        }
        if request.instructions:
            body["systemInstruction"] = {"parts": [{"text": request.instructions}]}
        return body

    def encode(self, request: LLMRequest) -> bytes:
        """One JSONL record; the key is the request's custom id."""
        return orjson.dumps({"key": request.custom_id, "request": self.request(request)}) + b"\n"

    def count_tokens(self, request: LLMRequest) -> int:
        """Input tokens, estimated: characters / 4 plus 4 a turn (instructions included)."""
        chars = len(request.instructions) + sum(len(content) for _, content in request.messages)
        return math.ceil(chars / 4) + 4 * (len(request.messages) + 1)

    def _schema(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        """The converted schema (tasks share one schema object: convert it once)."""
        cached = self._schemas.get(id(schema))
        if cached is not None and cached[0] is schema:
            return cached[1]
        converted = to_gemini(schema)
        self._schemas[id(schema)] = (schema, converted)
        return converted


def inlined_request(record: Mapping[str, Any]) -> Any:
    """An SDK ``InlinedRequest`` from one encoded record (the key goes into its metadata)."""
    from google.genai import types

    request = record["request"]
    config = dict(request.get("generationConfig") or {})
    if request.get("systemInstruction"):
        config["systemInstruction"] = request["systemInstruction"]
    return types.InlinedRequest(
        contents=request["contents"],
        metadata={"key": str(record["key"])},
        config=types.GenerateContentConfig.model_validate(config),
    )
