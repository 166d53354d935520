"""OpenAI Batch API result files read as neutral results, one per line, streamed.

A line is a success only when ``response`` is present with a 2xx status and ``error`` is null;
everything else is a failure, whichever file it came from. Chat completion and Response bodies
are both read: a Response's text comes from its message item (reasoning items come first), never
from the first output item. A refusal fails its request with the refusal text; an answer cut
off at the output limit is a retry marked ``finish_reason = "length"``. The answer's text is
otherwise handed on as it is: the processor validates it against the task's schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import orjson

from kernel.types import ResultFiles
from plugins.common.exchange import LLMResult, TokenUsage
from plugins.common.truncation import TRUNCATED

NOT_RUN_CODES = frozenset({"batch_expired", "batch_cancelled"})
INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


@dataclass(frozen=True, slots=True)
class Answer:
    """What a successful body says: the text, a refusal, why it stopped, and the tokens."""

    text: str | None
    refusal: str | None
    finish_reason: str | None
    usage: TokenUsage


def _int(value: Any) -> int:
    """A token count (absent or odd: 0)."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def chat_answer(body: dict[str, Any]) -> Answer:
    """A chat completion: the first choice's content or refusal; usage with cached input and
    reasoning output (reasoning counted inside output, as it is billed)."""
    usage = body.get("usage") or {}
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    choice = body["choices"][0]
    message = choice["message"]
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise TypeError("content is not text")
    return Answer(
        content,
        message.get("refusal") or None,
        choice.get("finish_reason"),
        TokenUsage(
            input=_int(usage.get("prompt_tokens")),
            output=_int(usage.get("completion_tokens")),
            cached=_int(prompt.get("cached_tokens")),
            reasoning=_int(completion.get("reasoning_tokens")),
        ),
    )


def response_answer(body: dict[str, Any]) -> Answer:
    """A Response: the ``output_text`` parts (or refusal) of its message items, whatever comes
    before them; an incomplete one stops for its ``incomplete_details.reason``."""
    texts: list[str] = []
    refusals: list[str] = []
    for item in body.get("output") or []:
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        for part in item.get("content") or []:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "output_text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif part.get("type") == "refusal" and part.get("refusal"):
                refusals.append(str(part["refusal"]))
    finish = "stop"
    if body.get("status") == "incomplete":
        reason = (body.get("incomplete_details") or {}).get("reason")
        finish = INCOMPLETE_REASONS.get(str(reason), str(reason or "incomplete"))
    usage = body.get("usage") or {}
    details_in = usage.get("input_tokens_details") or {}
    details_out = usage.get("output_tokens_details") or {}
    return Answer(
        "".join(texts) if texts else None,
        " ".join(refusals) or None,
        finish,
        TokenUsage(
            input=_int(usage.get("input_tokens")),
            output=_int(usage.get("output_tokens")),
            cached=_int(details_in.get("cached_tokens")),
            reasoning=_int(details_out.get("reasoning_tokens")),
        ),
    )


def is_response(body: dict[str, Any]) -> bool:
    """Whether a body is a Response object (``/v1/responses``) rather than a chat completion."""
    return body.get("object") == "response" or ("output" in body and "choices" not in body)


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
    shape = "response" if is_response(body) else "completion"
    try:
        answer = response_answer(body) if shape == "response" else chat_answer(body)
    except (KeyError, IndexError, TypeError) as exc:
        return LLMResult(
            custom_id,
            "retry",
            error=f"malformed {shape} body: {exc}",
            provider_request_id=request_ref,
        )
    return judged(custom_id, answer, request_ref)


def judged(custom_id: str, answer: Answer, request_ref: str | None) -> LLMResult:
    """The result of a 2xx answer: a refusal fails with its text; a cut-off answer is a retry
    marked ``length`` (the processor asks once more with a larger limit); no text at all is a
    retry (unless a content filter withheld it, as Azure OpenAI does: the same request would be
    filtered again, so it fails); otherwise the text goes on to be validated."""
    base = LLMResult(
        custom_id,
        "success",
        text=answer.text,
        finish_reason=answer.finish_reason,
        usage=answer.usage,
        provider_request_id=request_ref,
    )
    if answer.refusal:
        return replace(
            base,
            kind="fail",
            text=None,
            refusal=answer.refusal,
            error=f"the model refused: {answer.refusal}",
        )
    if answer.finish_reason == "length":
        return replace(
            base,
            kind="retry",
            error=f"{TRUNCATED} (finish_reason length after {answer.usage.output} output tokens)",
        )
    if answer.text is None and answer.finish_reason == "content_filter":
        return replace(
            base,
            kind="fail",
            error="provider content_filter: the answer was withheld by the content filter",
        )
    if answer.text is None:
        return replace(
            base, kind="retry", error=f"no answer text ({answer.finish_reason or 'no reason'})"
        )
    return base


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
            yield replace(interpret(record), raw=raw)


def read_results(files: ResultFiles) -> Iterator[LLMResult]:
    """The output file's results, then the error file's."""
    for path in (files.output_path, files.error_path):
        if path is not None:
            yield from read_file(path)
