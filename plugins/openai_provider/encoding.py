"""Neutral requests as OpenAI Batch API input lines (chat completions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from kernel.types import LLMRequest
from plugins.common.tokens import count_chat

ENDPOINT = "/v1/chat/completions"


def chat_messages(request: LLMRequest) -> list[dict[str, str]]:
    """The request's messages in chat form, the instructions first as the system message."""
    messages = [{"role": "system", "content": request.instructions}]
    messages += [{"role": role, "content": content} for role, content in request.messages]
    return messages


def response_format(request: LLMRequest) -> dict[str, Any]:
    """Strict structured outputs with the task's schema; plain JSON mode without a schema."""
    if request.schema is None:
        return {"type": "json_object"}
    return {
        "type": "json_schema",
        "json_schema": {"name": request.schema_name, "schema": request.schema, "strict": True},
    }


@dataclass(frozen=True, slots=True)
class ChatEncoder:
    """Encodes neutral requests for one model as chat-completions batch lines.

    ``url`` is the batch endpoint (``/v1/chat/completions`` at OpenAI, ``/chat/completions`` at
    Azure); ``deployment``, when set, is the line's ``model`` (Azure names a deployment there,
    the same on every line), while ``model`` still picks the tokenizer.
    """

    model: str
    url: str = ENDPOINT
    deployment: str | None = None

    def body(self, request: LLMRequest) -> dict[str, Any]:
        """The request body of one line."""
        body: dict[str, Any] = {
            "model": self.deployment or request.model,
            "messages": chat_messages(request),
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        body["max_tokens"] = request.max_output_tokens
        body["response_format"] = response_format(request)
        return body

    def encode(self, request: LLMRequest) -> bytes:
        """One JSONL line; ``custom_id`` is the request id."""
        line = {
            "custom_id": request.custom_id,
            "method": "POST",
            "url": self.url,
            "body": self.body(request),
        }
        return orjson.dumps(line) + b"\n"

    def count_tokens(self, request: LLMRequest) -> int:
        """Input tokens of the request's messages: exact with the offline tokenizer, else
        characters / 4 plus 4 a message."""
        messages = chat_messages(request)
        return count_chat(self.model, [(m["role"], m["content"]) for m in messages])
