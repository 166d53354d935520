"""Checks of a Message Batches create body (rejected whole, 400) and of each request's Messages
parameters (an ``errored`` result with ``invalid_request_error`` when the batch ends)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import invalid

CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
PARAMS = frozenset(
    {
        "cache_control",
        "container",
        "diagnostics",
        "inference_geo",
        "max_tokens",
        "messages",
        "metadata",
        "model",
        "output_config",
        "service_tier",
        "speed",
        "stop_sequences",
        "stream",
        "system",
        "thinking",
        "tool_choice",
        "tools",
        "user_profile_id",
        # Sampling parameters: no longer typed by the SDK, still accepted from older clients.
        "temperature",
        "top_k",
        "top_p",
    }
)
"""The keys of ``MessageCreateParamsNonStreaming`` (anthropic SDK types), plus sampling."""
EFFORTS = ("low", "medium", "high", "xhigh", "max")
TOOL_CHOICES = ("auto", "any", "tool", "none")


def check_create(body: Mapping[str, Any], max_requests: int) -> list[tuple[str, dict[str, Any]]]:
    """The (custom_id, params) pairs of a create body; the first problem is a 400 for all."""
    requests = body.get("requests")
    if not isinstance(requests, list):
        raise invalid(
            "requests: Field required"
            if requests is None
            else "requests: Input should be a valid list"
        )
    if not requests:
        raise invalid("requests: List should have at least 1 item after validation, not 0")
    if len(requests) > max_requests:
        raise invalid(
            f"requests: List should have at most {max_requests} items after validation, "
            f"not {len(requests)}"
        )
    seen: set[str] = set()
    pairs: list[tuple[str, dict[str, Any]]] = []
    for index, item in enumerate(requests):
        where = f"requests.{index}"
        if not isinstance(item, dict):
            raise invalid(f"{where}: Input should be a valid dictionary")
        custom_id = item.get("custom_id")
        params = item.get("params")
        if not isinstance(custom_id, str):
            raise invalid(f"{where}.custom_id: Field required")
        if not CUSTOM_ID.match(custom_id):
            raise invalid(f"{where}.custom_id: String should match pattern '{CUSTOM_ID.pattern}'")
        if custom_id in seen:
            raise invalid(
                f"Duplicate custom_id '{custom_id}' at {where}: custom_id must be unique "
                "within a message batch."
            )
        if not isinstance(params, dict):
            raise invalid(f"{where}.params: Input should be a valid dictionary")
        extra = sorted(set(item) - {"custom_id", "params"})
        if extra:
            raise invalid(f"{where}.{extra[0]}: Extra inputs are not permitted")
        seen.add(custom_id)
        pairs.append((custom_id, params))
    return pairs


def params_problem(params: Mapping[str, Any]) -> str | None:
    """Why the Messages API would reject these parameters, or None when it would run them."""
    extra = sorted(set(params) - PARAMS)
    if extra:
        return f"{extra[0]}: Extra inputs are not permitted"
    if not isinstance(params.get("model"), str) or not params["model"]:
        return "model: Field required"
    max_tokens = params.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        return (
            "max_tokens: Field required"
            if max_tokens is None
            else "max_tokens: Input should be a valid integer"
        )
    if max_tokens < 0:
        return "max_tokens: Input should be greater than or equal to 0"
    if params.get("stream"):
        return "stream: streaming is not supported in the Message Batches API"
    return (
        _messages_problem(params.get("messages"))
        or _system_problem(params.get("system"))
        or _sampling_problem(params)
        or _tools_problem(params.get("tools"), params.get("tool_choice"))
        or _output_problem(params.get("output_config"))
    )


def _messages_problem(messages: Any) -> str | None:
    """Roles, content shapes, and a first turn from the user."""
    if not isinstance(messages, list):
        return (
            "messages: Field required"
            if messages is None
            else "messages: Input should be a valid list"
        )
    if not messages:
        return "messages: at least one message is required"
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(message, dict):
            return f"{where}: Input should be a valid dictionary"
        if message.get("role") not in ("user", "assistant"):
            return f"{where}.role: Input should be 'user' or 'assistant'"
        content = message.get("content")
        if isinstance(content, str):
            if not content and index < len(messages) - 1:
                return f"{where}: all messages must have non-empty content except for the optional final assistant message"
        elif isinstance(content, list):
            if not all(
                isinstance(block, dict) and isinstance(block.get("type"), str) for block in content
            ):
                return f"{where}.content: each content block must be an object with a type"
        else:
            return f"{where}.content: Field required"
    return None


def _system_problem(system: Any) -> str | None:
    """A string or a list of text blocks."""
    if system is None or isinstance(system, str):
        return None
    if isinstance(system, list) and all(
        isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
        for block in system
    ):
        return None
    return "system: Input should be a valid string or a list of text blocks"


def _sampling_problem(params: Mapping[str, Any]) -> str | None:
    """temperature and top_p within 0..1, top_k a positive integer."""
    for key in ("temperature", "top_p"):
        value = params.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1
        ):
            return f"{key}: Input should be a number between 0 and 1"
    top_k = params.get("top_k")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0):
        return "top_k: Input should be a non-negative integer"
    return None


def _tools_problem(tools: Any, choice: Any) -> str | None:
    """Named tools with object input schemas; a forced tool must be one of them."""
    names: list[str] = []
    if tools is not None:
        if not isinstance(tools, list):
            return "tools: Input should be a valid list"
        for index, tool in enumerate(tools):
            if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
                return f"tools.{index}.name: Field required"
            schema = tool.get("input_schema")
            if tool.get("type") in (None, "custom") and not (
                isinstance(schema, dict) and schema.get("type") == "object"
            ):
                return f"tools.{index}.input_schema.type: Input should be 'object'"
            names.append(tool["name"])
    if choice is None:
        return None
    if not isinstance(choice, dict) or choice.get("type") not in TOOL_CHOICES:
        return f"tool_choice.type: Input should be {_alternatives(TOOL_CHOICES)}"
    if choice["type"] in ("any", "tool") and not names:
        return "tool_choice: tool_choice may only be specified while providing tools."
    if choice["type"] == "tool" and choice.get("name") not in names:
        return f"tool_choice.name: Tool '{choice.get('name')}' not found in the provided tools"
    return None


def _output_problem(config: Any) -> str | None:
    """``output_config``: an effort level and/or a ``json_schema`` format with an object schema."""
    if config is None:
        return None
    if not isinstance(config, dict):
        return "output_config: Input should be a valid dictionary"
    effort = config.get("effort")
    if effort is not None and effort not in EFFORTS:
        return f"output_config.effort: Input should be {_alternatives(EFFORTS)}"
    fmt = config.get("format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return "output_config.format.type: Input should be 'json_schema'"
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        return "output_config.format.schema: Field required"
    if schema.get("type") != "object":
        return (
            "output_config.format.schema: the root of a structured output schema must be an object"
        )
    return None


def _alternatives(values: Sequence[str]) -> str:
    """``'a', 'b' or 'c'``."""
    quoted = [f"'{v}'" for v in values]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}"
