"""Anthropic's objects as the kernel's: a MessageBatch as a ProviderBatch, a result line as an
LLMResult (answer text, usage, finish reason, and whether another attempt is worth it)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from kernel.types import ProviderBatch
from plugins.anthropic_provider.errors import RETRYABLE_TYPES
from plugins.common.exchange import LLMResult, TokenUsage

FINISH_REASONS = {
    "end_turn": "stop",
    "tool_use": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "refusal",
    "pause_turn": "pause",
}
"""Anthropic stop reasons in the kernel's (OpenAI's) finish-reason words."""
NOT_RUN = {"canceled": "the batch was canceled", "expired": "the batch expired before it ran"}


def status_of(batch: Any) -> str:
    """The kernel's status word for a batch: in_progress, cancelling, or once ended cancelled
    (cancellation was asked), expired (some requests expired) or completed."""
    state = batch.processing_status
    if state == "in_progress":
        return "in_progress"
    if state == "canceling":
        return "cancelling"
    if batch.cancel_initiated_at is not None:
        return "cancelled"
    if batch.request_counts.expired:
        return "expired"
    return "completed"


def to_provider_batch(batch: Any) -> ProviderBatch:
    """The SDK's MessageBatch as a ProviderBatch (results by custom id: no files)."""
    counts = batch.request_counts
    total = counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired
    created: datetime | None = batch.created_at
    return ProviderBatch(
        provider_batch_id=batch.id,
        status=status_of(batch),
        total=total,
        completed=counts.succeeded,
        failed=counts.errored + counts.canceled + counts.expired,
        created_at=int(created.timestamp()) if created is not None else None,
    )


def to_result(request_id: str, result: Mapping[str, Any], raw: bytes) -> LLMResult:
    """One decoded result line: succeeded, errored (retryable or not), canceled or expired."""
    kind = result.get("type")
    if kind == "succeeded" and isinstance(result.get("message"), Mapping):
        return _succeeded(request_id, result["message"], raw)
    if kind == "errored":
        envelope = _mapping(result.get("error"))
        detail = _mapping(envelope.get("error"))
        error_type = str(detail.get("type") or "api_error")
        message = str(detail.get("message") or error_type)
        return LLMResult(
            request_id,
            "retry" if error_type in RETRYABLE_TYPES else "fail",
            error=f"anthropic {error_type}: {message}",
            provider_request_id=envelope.get("request_id"),
            raw=raw,
        )
    if kind in NOT_RUN:
        return LLMResult(request_id, "requeue", error=f"anthropic: {NOT_RUN[kind]}", raw=raw)
    return LLMResult(request_id, "retry", error=f"anthropic: unknown result type {kind!r}", raw=raw)


def _succeeded(request_id: str, message: Mapping[str, Any], raw: bytes) -> LLMResult:
    """The answer of a succeeded request: a tool call's input as JSON, else the text blocks."""
    blocks = [b for b in message.get("content") or [] if isinstance(b, Mapping)]
    tool = next((b for b in blocks if b.get("type") == "tool_use"), None)
    if tool is not None:
        text: str | None = orjson.dumps(tool.get("input")).decode()
    else:
        parts = [str(b.get("text") or "") for b in blocks if b.get("type") == "text"]
        text = "".join(parts) if parts else None
    stop = str(message.get("stop_reason") or "")
    refusal = text if stop == "refusal" else None
    return LLMResult(
        request_id,
        "success",
        text=None if refusal else text,
        finish_reason=FINISH_REASONS.get(stop, stop or None),
        refusal=refusal,
        usage=usage_of(message.get("usage")),
        provider_request_id=str(message.get("id") or "") or None,
        raw=raw,
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def usage_of(usage: Any) -> TokenUsage:
    """Input counts every input token (uncached, cache writes and cache reads); ``cached`` the
    reads; ``reasoning`` the thinking tokens inside ``output``."""
    if not isinstance(usage, Mapping):
        return TokenUsage()
    details = _mapping(usage.get("output_tokens_details"))
    read = int(usage.get("cache_read_input_tokens") or 0)
    written = int(usage.get("cache_creation_input_tokens") or 0)
    return TokenUsage(
        input=int(usage.get("input_tokens") or 0) + read + written,
        output=int(usage.get("output_tokens") or 0),
        cached=read,
        reasoning=int(details.get("thinking_tokens") or 0),
    )
