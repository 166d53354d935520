"""``/v1/responses`` lines: a Response object whose output holds a reasoning item (reasoning
models) before the assistant message, with Responses-style usage."""

from __future__ import annotations

import random
from typing import Any

from . import generation, ids, model, params
from .lineresult import EndpointResult, invalid


def respond(
    body: dict[str, Any], rng: random.Random, created: int, *, invalid: bool, refuse: bool
) -> EndpointResult:
    """Answer one Responses API body."""
    rejection = params.check_responses(body)
    if rejection is not None:
        return _invalid(rejection.message, rejection.param, rejection.code)
    messages = conversation(body)
    output_format = params.responses_format(body)
    turn = generation.generate(
        body,
        "/v1/responses",
        model.transcript_of(messages),
        model.approximate_prompt_tokens(messages),
        output_format,
        invalid=invalid,
        refuse=refuse,
    )
    items: list[dict[str, Any]] = []
    if turn.reasoning:
        items.append({"id": ids.hex_id("rs_", rng, 48), "type": "reasoning", "summary": []})
    content: list[dict[str, Any]]
    if turn.refusal is not None:
        content = [{"type": "refusal", "refusal": turn.refusal}]
    elif turn.text is not None:
        content = [{"type": "output_text", "text": turn.text, "annotations": [], "logprobs": []}]
    else:
        content = []
    if content:
        items.append(
            {
                "id": ids.hex_id("msg_", rng, 48),
                "type": "message",
                "status": "incomplete" if turn.truncated else "completed",
                "role": "assistant",
                "content": content,
            }
        )
    raw_reasoning = body.get("reasoning")
    reasoning: dict[str, Any] = raw_reasoning if isinstance(raw_reasoning, dict) else {}
    response = {
        "id": ids.hex_id("resp_", rng, 48),
        "object": "response",
        "created_at": created,
        "status": "incomplete" if turn.truncated else "completed",
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if turn.truncated else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body.get("model"),
        "output": items,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {
            "effort": params.effort_of(body, "/v1/responses") if turn.reasoning else None,
            "summary": reasoning.get("summary"),
        },
        "service_tier": "default",
        "store": False,
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": {
            "input_tokens": turn.input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": turn.output_tokens,
            "output_tokens_details": {"reasoning_tokens": turn.reasoning_tokens},
            "total_tokens": turn.input_tokens + turn.output_tokens,
        },
        "user": None,
        "metadata": {},
    }
    return EndpointResult(
        200, response, turn.input_tokens, turn.output_tokens, turn.reasoning_tokens
    )


_invalid = invalid


def conversation(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation as chat-style messages: instructions as a system message, then the
    input (a string is one user message; items carry a role and text or text parts)."""
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    raw = body.get("input")
    if isinstance(raw, str):
        messages.append({"role": "user", "content": raw})
        return messages
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and item.get("role"):
            content = item.get("content")
            if isinstance(content, list):
                content = "".join(
                    str(part.get("text") or "") for part in content if isinstance(part, dict)
                )
            messages.append({"role": item["role"], "content": content or ""})
    return messages
