"""OpenAI Batch API result files read as neutral results, one per line, streamed.

A line is a success only when ``response`` is present with a 2xx status and ``error`` is null;
everything else is a failure, whichever file it came from. The answer's text is handed on as it
is: the processor validates it against the task's schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import orjson

from kernel.types import LLMResult, ResultFiles, TokenUsage

NOT_RUN_CODES = frozenset({"batch_expired", "batch_cancelled"})


def usage_of(body: dict[str, Any]) -> TokenUsage:
    """Tokens from a chat completion body (cached within input, reasoning within output)."""
    usage = body.get("usage") or {}
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    return TokenUsage(
        input=int(usage.get("prompt_tokens") or 0),
        output=int(usage.get("completion_tokens") or 0),
        cached=int(prompt.get("cached_tokens") or 0),
        reasoning=int(completion.get("reasoning_tokens") or 0),
    )


def interpret(record: dict[str, Any]) -> LLMResult:
    """One parsed result line as the neutral result of its request."""
    custom_id = str(record.get("custom_id"))
    response = record.get("response")
    error = record.get("error")
    if error and not response:
        code = str(error.get("code") or "") if isinstance(error, dict) else ""
        message = str(error.get("message") or code) if isinstance(error, dict) else str(error)
        not_run: Literal["requeue", "retry"] = "requeue" if code in NOT_RUN_CODES else "retry"
        return LLMResult(custom_id, not_run, error=f"provider: {code}: {message}")
    if not isinstance(response, dict):
        return LLMResult(custom_id, "retry", error="provider line has neither response nor error")
    status = int(response.get("status_code") or 0)
    body: dict[str, Any] = response["body"] if isinstance(response.get("body"), dict) else {}
    request_ref = response.get("request_id")
    if not 200 <= status < 300 or error:
        detail: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else {}
        message = str(detail.get("message") or f"HTTP {status}")
        code = str(detail.get("code") or detail.get("type") or status)
        kind: Literal["fail", "retry"] = (
            "fail" if 400 <= status < 500 and status not in (408, 409, 429) else "retry"
        )
        return LLMResult(
            custom_id,
            kind,
            error=f"provider {status} {code}: {message}",
            provider_request_id=request_ref,
        )
    usage = usage_of(body)
    filtered = _filtered(body)
    if filtered is not None:
        return LLMResult(
            custom_id,
            "fail",
            finish_reason="content_filter",
            error=filtered,
            usage=usage,
            provider_request_id=request_ref,
        )
    try:
        choice = body["choices"][0]
        content = choice["message"]["content"]
        if not isinstance(content, str):
            raise TypeError("content is not text")
    except (KeyError, IndexError, TypeError) as exc:
        return LLMResult(
            custom_id,
            "retry",
            error=f"malformed completion body: {exc}",
            usage=usage,
            provider_request_id=request_ref,
        )
    return LLMResult(
        custom_id,
        "success",
        text=content,
        finish_reason=choice.get("finish_reason"),
        refusal=choice["message"].get("refusal"),
        usage=usage,
        provider_request_id=request_ref,
    )


def _filtered(body: dict[str, Any]) -> str | None:
    """Why an answer was withheld by a content filter (Azure OpenAI ends such a choice with
    ``finish_reason: content_filter`` and no content), or ``None``. The same request would be
    filtered again: it fails for good."""
    choices = body.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else None
    if not isinstance(choice, dict) or choice.get("finish_reason") != "content_filter":
        return None
    message = choice.get("message")
    if isinstance(message, dict) and isinstance(message.get("content"), str):
        return None
    results = choice.get("content_filter_results")
    flagged = (
        sorted(k for k, v in results.items() if isinstance(v, dict) and v.get("filtered"))
        if isinstance(results, dict)
        else []
    )
    named = f" ({', '.join(flagged)})" if flagged else ""
    return f"provider content_filter: the answer was withheld by the content filter{named}"


def read_file(path: Path) -> Iterator[LLMResult]:
    """Every line of one result file; a line that names no request comes with an empty
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
            if not isinstance(record, dict) or not record.get("custom_id"):
                yield LLMResult("", "fail", error=f"{path.name} line {number}: no custom_id")
                continue
            yield interpret(record)


def read_results(files: ResultFiles) -> Iterator[LLMResult]:
    """The output file's results, then the error file's."""
    for path in (files.output_path, files.error_path):
        if path is not None:
            yield from read_file(path)
