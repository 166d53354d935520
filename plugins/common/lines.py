"""Request lines for the batch input file, and the batch limits that split a backlog into batches."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from plugins.common.prompts import system_prompt
from plugins.common.text import transcript

ENDPOINT = "/v1/chat/completions"
PROVIDER_MAX_LINES = 50_000
PROVIDER_MAX_BYTES = 200_000_000


def estimate_tokens(text_chars: int, message_count: int = 2) -> int:
    """Estimated input tokens: 4 characters a token plus 4 per chat message (documented approximation)."""
    return math.ceil(text_chars / 4) + 4 * message_count


@dataclass(frozen=True, slots=True)
class RequestLine:
    """One serialized JSONL line and its cost against the batch limits."""

    request_id: str
    data: bytes
    tokens: int


def build_line(
    request_id: str,
    model: str,
    processing_type: str,
    messages: Iterable[tuple[str, str]],
    *,
    temperature: float,
    max_tokens: int,
) -> RequestLine:
    """Serialize one request as a Batch API input line; ``custom_id`` is the request id."""
    prompt = system_prompt(processing_type)
    user = transcript(messages)
    body = {
        "model": model,
        "messages": [{"role": "system", "content": prompt}, {"role": "user", "content": user}],
        "temperature": temperature,
        "max_tokens": max_tokens,
        "response_format": {"type": "json_object"},
    }
    data = orjson.dumps({"custom_id": request_id, "method": "POST", "url": ENDPOINT, "body": body})
    return RequestLine(request_id, data + b"\n", estimate_tokens(len(prompt) + len(user)))


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """How much one batch may hold: lines, bytes and estimated input tokens.

    ``model_tokens`` are the provider's enqueued-token limits per model: a batch of that model
    never holds more, since a bigger one could never be admitted.
    """

    max_requests: int
    max_bytes: int
    max_tokens: int
    model_tokens: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Any) -> BatchLimits:
        """Read ``batch.*`` settings, never above the provider's own limits."""
        batch = settings.batch
        enqueued = batch.get("enqueued_token_limits") or {}
        return cls(
            min(int(batch.max_requests_per_batch), PROVIDER_MAX_LINES),
            min(int(batch.max_file_bytes), PROVIDER_MAX_BYTES),
            int(batch.max_input_tokens_per_batch),
            {str(model): int(limit) for model, limit in enqueued.items() if int(limit) > 0},
        )

    def tokens_for(self, model: str) -> int:
        """Estimated input tokens one batch of ``model`` may hold."""
        return min(self.max_tokens, self.model_tokens.get(model, self.max_tokens))

    def for_model(self, model: str) -> BatchLimits:
        """These limits with the token limit of ``model``."""
        return replace(self, max_tokens=self.tokens_for(model))

    def fits_alone(self, line: RequestLine) -> bool:
        """Whether a single line can go into any batch at all."""
        return len(line.data) <= self.max_bytes and line.tokens <= self.max_tokens


def split_lines(lines: Iterable[RequestLine], limits: BatchLimits) -> Iterator[list[RequestLine]]:
    """Group lines into consecutive batches that each respect every limit."""
    group: list[RequestLine] = []
    size = tokens = 0
    for line in lines:
        if group and (
            len(group) >= limits.max_requests
            or size + len(line.data) > limits.max_bytes
            or tokens + line.tokens > limits.max_tokens
        ):
            yield group
            group, size, tokens = [], 0, 0
        group.append(line)
        size += len(line.data)
        tokens += line.tokens
    if group:
        yield group


def write_lines(path: Path, lines: Sequence[RequestLine]) -> int:
    """Write lines to a JSONL file and return its size in bytes."""
    with path.open("wb") as handle:
        for line in lines:
            handle.write(line.data)
        return handle.tell()
