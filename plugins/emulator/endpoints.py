"""Answer one batch request body as the synchronous endpoint would (chat completions, embeddings)."""

from __future__ import annotations

import hashlib
import math
import random
import struct
from typing import Any

from . import generation, ids, model, params, responses
from .errors import error_body
from .lineresult import EndpointResult, invalid


def run(
    endpoint: str,
    body: dict[str, Any],
    rng: random.Random,
    created: int,
    *,
    invalid: bool = False,
    refuse: bool = False,
) -> EndpointResult:
    """Execute one request body against the emulated endpoint. ``invalid`` breaks the answer of
    a request without a strict schema (a fault); ``refuse`` makes the model refuse."""
    if body.get("stream"):
        return _invalid("Streaming is not supported in the Batch API.", "stream")
    if endpoint in ("/v1/chat/completions", "/chat/completions"):
        return _chat(body, rng, created, invalid=invalid, refuse=refuse)
    if endpoint == "/v1/responses":
        return responses.respond(body, rng, created, invalid=invalid, refuse=refuse)
    if endpoint == "/v1/embeddings":
        return _embeddings(body)
    return EndpointResult(
        400,
        error_body(
            f"The emulator does not implement {endpoint}.",
            "invalid_request_error",
            None,
            "unsupported_endpoint",
        ),
    )


def injected_error(status: int) -> EndpointResult:
    """A per-line failure injected by the line-error fault."""
    if status >= 500:
        return EndpointResult(
            status,
            error_body(
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
            ),
        )
    return EndpointResult(
        status,
        error_body(
            "This model's maximum context length is 128000 tokens. However, your messages "
            "resulted in 131072 tokens. Please reduce the length of the messages.",
            "invalid_request_error",
            "messages",
            "context_length_exceeded",
        ),
    )


_invalid = invalid


def _chat(
    body: dict[str, Any], rng: random.Random, created: int, *, invalid: bool, refuse: bool
) -> EndpointResult:
    """A chat.completion answering with the transcript analysis in the requested format."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _invalid(
            "Missing required parameter: 'messages'.", "messages", "missing_required_parameter"
        )
    rejection = params.check_chat(body)
    if rejection is not None:
        return _invalid(rejection.message, rejection.param, rejection.code)
    output = params.chat_format(body)
    turn = generation.generate(
        body,
        "/v1/chat/completions",
        model.transcript_of(messages),
        model.approximate_prompt_tokens(messages),
        output,
        invalid=invalid,
        refuse=refuse,
    )
    response: dict[str, Any] = {
        "id": ids.hex_id("chatcmpl-", rng, 116),
        "object": "chat.completion",
        "created": created,
        "model": body.get("model"),
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": turn.text,
                    "refusal": turn.refusal,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "length" if turn.truncated else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": turn.input_tokens,
            "completion_tokens": turn.output_tokens,
            "total_tokens": turn.input_tokens + turn.output_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": turn.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_emulator",
    }
    return EndpointResult(
        200, response, turn.input_tokens, turn.output_tokens, turn.reasoning_tokens
    )


def _embeddings(body: dict[str, Any]) -> EndpointResult:
    """A small deterministic embedding per input string (hash-derived, unit length)."""
    raw = body.get("input")
    inputs = [raw] if isinstance(raw, str) else raw
    if not isinstance(inputs, list) or not inputs:
        return _invalid(
            "Missing required parameter: 'input'.", "input", "missing_required_parameter"
        )
    data = []
    tokens = 0
    for index, item in enumerate(inputs):
        text = item if isinstance(item, str) else str(item)
        tokens += math.ceil(len(text) / 4)
        data.append({"object": "embedding", "index": index, "embedding": _vector(text)})
    response: dict[str, Any] = {
        "object": "list",
        "data": data,
        "model": body.get("model"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return EndpointResult(200, response, tokens, 0)


def _vector(text: str, size: int = 8) -> list[float]:
    """Hash a text into a unit vector of `size` floats."""
    digest = hashlib.sha256(text.encode()).digest()
    values = [v / 2**31 for v in struct.unpack(f"<{size}i", digest[: 4 * size])]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [round(v / norm, 6) for v in values]
