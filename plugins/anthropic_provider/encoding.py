"""LLMRequest → one JSONL record ``{"custom_id", "params"}``: Messages API parameters with the
task's instructions as the (cached) system prompt and its schema enforced by structured output
(``output_config.format``) or a forced tool call."""

from __future__ import annotations

import math
from typing import Any

import orjson

from plugins.anthropic_provider.config import AnthropicConfig
from plugins.common.exchange import LLMRequest

TOOL_DESCRIPTION = "Record the answer. Its input is the complete answer, matching the schema."
EFFORTS = {"minimal": "low", "low": "low", "medium": "medium", "high": "high"}


def claude_model(model: str, config: AnthropicConfig) -> str:
    """``model`` when it is a Claude model, else ``anthropic.model`` (a request queued with
    another provider's default model, or moved here by failover)."""
    return model if model.startswith("claude") else config.model


class AnthropicEncoder:
    """Encodes requests for one model; the record's ``custom_id`` is the request id as given
    (the submission tags it when the batch is sent). Sampling parameters (``temperature``) are
    not sent: the SDK no longer types them."""

    def __init__(self, config: AnthropicConfig, model: str) -> None:
        self.config = config
        self.model = claude_model(model, config)

    def params(self, request: LLMRequest) -> dict[str, Any]:
        """The Messages API parameters of one request."""
        params: dict[str, Any] = {
            "model": claude_model(request.model, self.config) if request.model else self.model,
            "max_tokens": request.max_output_tokens or self.config.max_tokens,
            "messages": _messages(request.messages),
        }
        if request.instructions:
            block: dict[str, Any] = {"type": "text", "text": request.instructions}
            if self.config.prompt_cache:
                block["cache_control"] = {"type": "ephemeral"}
            params["system"] = [block]
        output: dict[str, Any] = {}
        if request.reasoning_effort in EFFORTS:
            output["effort"] = EFFORTS[request.reasoning_effort]
        if request.schema is not None:
            schema = dict(request.schema)
            if self.config.structured_output == "tool":
                name = _tool_name(request.schema_name)
                params["tools"] = [
                    {"name": name, "description": TOOL_DESCRIPTION, "input_schema": schema}
                ]
                params["tool_choice"] = {"type": "tool", "name": name}
            else:
                output["format"] = {"type": "json_schema", "schema": schema}
        if output:
            params["output_config"] = output
        return params

    def encode(self, request: LLMRequest) -> bytes:
        """One newline-terminated record of the batch input file."""
        record = {"custom_id": request.custom_id, "params": self.params(request)}
        return orjson.dumps(record) + b"\n"

    def count_tokens(self, request: LLMRequest) -> int:
        """Estimated input tokens: four characters a token, four per message, the schema too."""
        chars = len(request.instructions) + sum(len(content) for _, content in request.messages)
        if request.schema is not None:
            chars += len(orjson.dumps(request.schema))
        return math.ceil(chars / 4) + 4 * (len(request.messages) + 1)


def _messages(messages: Any) -> list[dict[str, Any]]:
    """(role, content) turns as Messages API turns; consecutive turns of one role are joined,
    and a conversation must open with the user."""
    out: list[dict[str, Any]] = []
    for role, content in messages:
        role = "assistant" if role == "assistant" else "user"
        if out and out[-1]["role"] == role:
            out[-1]["content"] = f"{out[-1]['content']}\n\n{content}"
        else:
            out.append({"role": role, "content": content})
    if not out or out[0]["role"] != "user":
        out.insert(0, {"role": "user", "content": "(conversation follows)"})
    return out


def _tool_name(schema_name: str) -> str:
    """A valid tool name (``^[a-zA-Z0-9_-]{1,64}$``) for the task's schema name."""
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in schema_name)[:64]
    return cleaned or "answer"
