"""Neutral requests as OpenAI Batch API input lines: chat completions or the Responses API,
with the parameters the model accepts (the capability table in :mod:`.models`) and the task's
schema as a strict ``json_schema``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import orjson

from plugins.common.exchange import LLMRequest
from plugins.common.tokens import count_chat

Endpoint = Literal["/v1/chat/completions", "/v1/responses"]
CHAT: Final = "/v1/chat/completions"
RESPONSES: Final = "/v1/responses"
ENDPOINT: Final = CHAT
"""The default endpoint."""
AZURE_CHAT: Final = "/chat/completions"
"""Azure OpenAI's batch path for chat completions (the batch's endpoint and every line's url)."""
ENDPOINTS: Final = (CHAT, RESPONSES, AZURE_CHAT)


def chat_messages(request: LLMRequest) -> list[dict[str, str]]:
    """The request's messages in chat form, the instructions first as the system message."""
    messages = [{"role": "system", "content": request.instructions}]
    messages += [{"role": role, "content": content} for role, content in request.messages]
    return messages


def response_format(request: LLMRequest) -> dict[str, Any]:
    """Chat: strict structured outputs with the task's schema; plain JSON mode without one."""
    if request.schema is None:
        return {"type": "json_object"}
    return {
        "type": "json_schema",
        "json_schema": {"name": request.schema_name, "schema": request.schema, "strict": True},
    }


def text_format(request: LLMRequest) -> dict[str, Any]:
    """Responses: the same as ``text.format`` (name, schema and strict beside the type)."""
    if request.schema is None:
        return {"type": "json_object"}
    return {
        "type": "json_schema",
        "name": request.schema_name,
        "schema": request.schema,
        "strict": True,
    }


@dataclass(frozen=True, slots=True)
class OpenAIEncoder:
    """Encodes neutral requests for one model as batch lines of ``endpoint``.

    A reasoning model gets ``max_completion_tokens`` (Responses: ``max_output_tokens``), no
    temperature, and the reasoning effort (the request's, else ``effort``; empty: none sent);
    another model gets ``max_tokens`` (Responses: ``max_output_tokens``) and the temperature.
    ``deployment``, when set, is each line's ``model`` (Azure names a deployment there, the same
    on every line), while ``model`` still picks the parameters and the tokenizer.
    """

    model: str
    endpoint: str = CHAT
    reasoning: bool = False
    effort: str = ""
    deployment: str | None = None

    def body(self, request: LLMRequest) -> dict[str, Any]:
        """The request body of one line."""
        if self.endpoint == RESPONSES:
            return self._responses(request)
        return self._chat(request)

    def _effort(self, request: LLMRequest) -> str:
        """The reasoning effort to ask for ("": the model's default)."""
        return request.reasoning_effort or self.effort

    def _chat(self, request: LLMRequest) -> dict[str, Any]:
        """A chat completions body."""
        body: dict[str, Any] = {
            "model": self.deployment or request.model,
            "messages": chat_messages(request),
        }
        if self.reasoning:
            body["max_completion_tokens"] = request.max_output_tokens
            if self._effort(request):
                body["reasoning_effort"] = self._effort(request)
        else:
            body["max_tokens"] = request.max_output_tokens
            if request.temperature is not None:
                body["temperature"] = request.temperature
        body["response_format"] = response_format(request)
        return body

    def _responses(self, request: LLMRequest) -> dict[str, Any]:
        """A ``/v1/responses`` body: instructions, the conversation as input items."""
        body: dict[str, Any] = {
            "model": self.deployment or request.model,
            "instructions": request.instructions,
            "input": [{"role": role, "content": content} for role, content in request.messages],
            "max_output_tokens": request.max_output_tokens,
        }
        if self.reasoning:
            if self._effort(request):
                body["reasoning"] = {"effort": self._effort(request)}
        elif request.temperature is not None:
            body["temperature"] = request.temperature
        body["text"] = {"format": text_format(request)}
        return body

    def encode(self, request: LLMRequest) -> bytes:
        """One JSONL line; ``custom_id`` is the request id."""
        line = {
            "custom_id": request.custom_id,
            "method": "POST",
            "url": self.endpoint,
            "body": self.body(request),
        }
        return orjson.dumps(line) + b"\n"

    def count_tokens(self, request: LLMRequest) -> int:
        """Input tokens of the request's messages: exact with the offline tokenizer, else
        characters / 4 plus 4 a message."""
        messages = chat_messages(request)
        return count_chat(self.model, [(m["role"], m["content"]) for m in messages])


def endpoint_of(input_path: Path, default: str = ENDPOINT) -> str:
    """The endpoint the lines of a batch input file call (its first line's ``url``), so a batch
    is created for the endpoint its file was written for; ``default`` when unreadable."""
    try:
        with input_path.open("rb") as handle:
            url = orjson.loads(handle.readline()).get("url")
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return default
    return url if url in ENDPOINTS else default


def sdk_endpoint(endpoint: str) -> Any:
    """``endpoint`` for ``batches.create``: the SDK types it as a literal of OpenAI's paths,
    which Azure's ``/chat/completions`` is not; the SDK sends the string as it is."""
    return endpoint
