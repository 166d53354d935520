"""Gemini batch results read as neutral results, one per record, streamed.

A record is ``{"key", "response": GenerateContentResponse}`` or ``{"key", "error": Status}`` (the
results file of a file batch; inline results are written locally in the same form). The answer is
the text parts of the first candidate (thought parts left out); usage maps ``promptTokenCount`` to
input (``cachedContentTokenCount`` within it) and ``candidatesTokenCount + thoughtsTokenCount``
to output (``thoughtsTokenCount`` as reasoning: Gemini bills thinking as output).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from kernel.types import ResultFiles
from plugins.common.exchange import LLMResult, ResultKind, TokenUsage

RETRYABLE_CODES = frozenset({1, 4, 8, 10, 13, 14})
"""google.rpc codes worth another attempt: CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
ABORTED, INTERNAL, UNAVAILABLE; the rest (INVALID_ARGUMENT, NOT_FOUND, ...) fail for good."""
FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
}


def usage_of(response: Mapping[str, Any]) -> TokenUsage:
    """Token usage of one GenerateContentResponse."""
    usage = response.get("usageMetadata") or {}
    thoughts = int(usage.get("thoughtsTokenCount") or 0)
    return TokenUsage(
        input=int(usage.get("promptTokenCount") or 0),
        output=int(usage.get("candidatesTokenCount") or 0) + thoughts,
        cached=int(usage.get("cachedContentTokenCount") or 0),
        reasoning=thoughts,
    )


def interpret(record: Mapping[str, Any]) -> LLMResult:
    """One record as the neutral result of its request."""
    key = str(record.get("key") or "")
    error = record.get("error")
    response = record.get("response")
    if isinstance(error, Mapping) or not isinstance(response, Mapping):
        status = error if isinstance(error, Mapping) else {}
        code = int(status.get("code") or 0)
        message = str(status.get("message") or "the record has neither response nor error")
        kind: ResultKind = "retry" if code in RETRYABLE_CODES or not status else "fail"
        return LLMResult(key, kind, error=f"provider error {code}: {message}")
    usage = usage_of(response)
    request_ref = response.get("responseId")
    candidates = response.get("candidates") or []
    if not candidates:
        feedback = response.get("promptFeedback") or {}
        reason = str(feedback.get("blockReason") or "no candidates")
        return LLMResult(
            key,
            "fail",
            finish_reason="content_filter",
            refusal=f"prompt blocked: {reason}",
            error=f"provider returned no answer: {reason}",
            usage=usage,
            provider_request_id=request_ref,
        )
    candidate = candidates[0]
    raw_reason = str(candidate.get("finishReason") or "STOP")
    finish = FINISH_REASONS.get(raw_reason, raw_reason.lower())
    parts = (candidate.get("content") or {}).get("parts") or []
    text = "".join(
        str(part.get("text", ""))
        for part in parts
        if isinstance(part, Mapping) and "text" in part and not part.get("thought")
    )
    refusal = f"answer blocked: {raw_reason}" if finish == "content_filter" else None
    return LLMResult(
        key,
        "success",
        text=text,
        finish_reason=finish,
        refusal=refusal,
        usage=usage,
        provider_request_id=request_ref,
    )


def read_file(path: Path) -> Iterator[LLMResult]:
    """Every record of one results file; a record that names no request comes with an empty
    ``custom_id`` and the reason in ``error``."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            raw = raw.strip()
            if not raw:
                continue
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                yield LLMResult("", "fail", error=f"{path.name} line {number}: not JSON: {exc}")
                continue
            if not isinstance(record, dict) or not record.get("key"):
                yield LLMResult("", "fail", error=f"{path.name} line {number}: no key")
                continue
            yield replace(interpret(record), raw=raw)


def read_results(files: ResultFiles) -> Iterator[LLMResult]:
    """The results file's records (Gemini has no separate error file)."""
    for path in (files.output_path, files.error_path):
        if path is not None:
            yield from read_file(path)
