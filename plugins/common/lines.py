"""Neutral requests for a batch, their encoded records, and the limits that split a backlog.

Processors describe each request provider-neutrally (:class:`plugins.common.exchange.LLMRequest`);
the provider's encoder (``calls.request_encoder``) turns it into one record of the input file
and counts its input tokens. Batch limits are the ``batch.*`` settings, never above the provider's own
(``calls.provider_limits``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kernel.api import KernelAPI
from plugins.common import calls
from plugins.common.exchange import LLMRequest, RequestEncoder, TaskSpec
from plugins.common.text import transcript
from plugins.common.truncation import output_limit

__all__ = [
    "BatchLimits",
    "RequestLine",
    "encode_line",
    "neutral_request",
    "split_lines",
    "transcript",
    "write_lines",
]


def neutral_request(
    request_id: str,
    task: TaskSpec,
    model: str,
    messages: Iterable[tuple[str, str]],
    settings: Any,
    *,
    previous_error: str | None = None,
) -> LLMRequest:
    """The neutral request of one session for ``task``: its instructions, the session's
    transcript as the one user message, its schema, and the task's parameters over ``model.*``.
    After an answer cut off at the output limit (``previous_error``) the limit is larger."""
    params = task.params
    temperature = params.get("temperature", settings.model.temperature)
    return LLMRequest(
        custom_id=request_id,
        task=task.name,
        model=model,
        instructions=task.instructions,
        messages=(("user", transcript(messages)),),
        schema=task.schema,
        schema_name=task.name,
        max_output_tokens=output_limit(
            int(params.get("max_output_tokens", settings.model.max_tokens)),
            previous_error,
            settings,
        ),
        temperature=None if temperature is None else float(temperature),
        reasoning_effort=params.get("reasoning_effort"),
    )


@dataclass(frozen=True, slots=True)
class RequestLine:
    """One encoded record of the input file and its cost against the batch limits."""

    request_id: str
    data: bytes
    tokens: int


def encode_line(encoder: RequestEncoder, request: LLMRequest) -> RequestLine:
    """Encode one request and count its input tokens."""
    return RequestLine(request.custom_id, encoder.encode(request), encoder.count_tokens(request))


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """How much one batch may hold: lines, bytes and input tokens.

    ``model_tokens`` are the provider's enqueued-token limits per model: a batch of that model
    never holds more, since a bigger one could never be admitted.
    """

    max_requests: int
    max_bytes: int
    max_tokens: int
    model_tokens: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def for_provider(cls, kernel: KernelAPI, provider: str) -> BatchLimits:
        """Read ``batch.*`` settings, never above ``provider``'s own limits."""
        batch = kernel.settings.batch
        own = calls.provider_limits(kernel, provider)
        enqueued = batch.get("enqueued_token_limits") or {}
        return cls(
            min(int(batch.max_requests_per_batch), own.max_requests),
            min(int(batch.max_file_bytes), own.max_bytes),
            int(batch.max_input_tokens_per_batch),
            {str(model): int(limit) for model, limit in enqueued.items() if int(limit) > 0},
        )

    def tokens_for(self, model: str) -> int:
        """Input tokens one batch of ``model`` may hold."""
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
