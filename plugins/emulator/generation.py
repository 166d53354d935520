"""One model turn: the answer text (or a refusal), reasoning tokens for reasoning models, and
truncation when the answer does not fit the request's output token limit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from . import model, params
from .answers import answer
from .params import OutputFormat

REASONING_TOKENS = {"minimal": 0, "low": 64, "medium": 192, "high": 512}
"""Reasoning tokens a reasoning model spends per answer, by effort (billed as output)."""
REFUSAL = "I'm sorry, but I can't help with that request."


@dataclass(frozen=True)
class Turn:
    """What the model produced for one request."""

    text: str | None
    refusal: str | None
    input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    truncated: bool
    reasoning: bool


def generate(
    body: dict[str, Any],
    endpoint: str,
    transcript: str,
    input_tokens: int,
    output: OutputFormat,
    *,
    invalid: bool,
    refuse: bool,
) -> Turn:
    """Answer ``transcript`` in ``output``'s format within the request's output limit.

    Reasoning tokens come first and count against the limit; what does not fit is cut off
    (``truncated``: finish_reason "length", or an incomplete response). A strict schema is never
    broken by ``invalid``."""
    reasoning = params.is_reasoning(str(body.get("model") or ""))
    thinking = REASONING_TOKENS[params.effort_of(body, endpoint)] if reasoning else 0
    if refuse:
        text, refusal = None, REFUSAL
        needed = model.completion_tokens(REFUSAL)
    else:
        broken = invalid and not (output.kind == "json_schema" and output.strict)
        text, refusal = answer(transcript, output, invalid=broken), None
        needed = model.completion_tokens(text)
    limit = params.output_limit(body, endpoint)
    if limit is None or thinking + needed <= limit:
        return Turn(text, refusal, input_tokens, thinking + needed, thinking, False, reasoning)
    spent = min(thinking, limit)
    room = limit - spent
    cut = None if text is None else text[: room * 4]
    return Turn(cut or None, None, input_tokens, limit, spent, True, reasoning)


def text_tokens(text: str) -> int:
    """Tokens of a plain text input (the emulator's rule: characters / 4)."""
    return math.ceil(len(text) / 4)
