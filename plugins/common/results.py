"""Parsing and validating result lines from the provider's output and error files.

A line is a success only when ``response`` is present with a 2xx status and ``error`` is null;
everything else is a failure, whichever file it came from. Content is validated against the
processing type's required fields and the allowed enum values before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from kernel.types import Sentiment, SessionCategory
from plugins.common.prompts import REQUIRED_FIELDS

NOT_RUN_CODES = frozenset({"batch_expired", "batch_cancelled"})
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class LineOutcome:
    """What one result line says about one request.

    kind: "success" (fields set), "retry" (may succeed again; spends an attempt), "requeue" (not
    run at all; no attempt spent) or "fail" (cannot succeed on retry).
    """

    request_id: str
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    provider_request_id: str | None = None
    raw: str | None = None


@dataclass(slots=True)
class BadLine:
    """A line that could not be tied to a request: why, and where."""

    path: Path
    number: int
    reason: str


def validate_content(processing_type: str, content: str) -> dict[str, Any]:
    """Parse the model's JSON answer and check every required field; raises ValueError with why."""
    text = content.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"model answer is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("model answer is not a JSON object")
    required = REQUIRED_FIELDS.get(processing_type, ())
    missing = [key for key in required if key not in data]
    if missing:
        raise ValueError(f"model answer lacks {', '.join(missing)}")
    out: dict[str, Any] = {}
    if "sentiment" in required:
        value = str(data["sentiment"]).upper()
        if value not in Sentiment.__members__:
            raise ValueError(f"sentiment {data['sentiment']!r} is not one of {list(Sentiment)}")
        out["sentiment"] = value
    if "category" in required:
        value = str(data["category"]).upper()
        if value not in SessionCategory.__members__:
            raise ValueError(f"category {data['category']!r} is not an allowed category")
        out["category"] = value
    if "summary" in required:
        if not isinstance(data["summary"], str) or not data["summary"].strip():
            raise ValueError("summary must be a non-empty string")
        out["summary"] = data["summary"].strip()[:4000]
    if "language" in required:
        value = data["language"]
        if not isinstance(value, str) or not _LANGUAGE.match(value.strip()):
            raise ValueError(f"language {value!r} is not an ISO 639-1 code")
        out["language"] = value.strip().lower()
    for key in ("escalated", "forwarded_hr"):
        if key in required:
            if not isinstance(data[key], bool):
                raise ValueError(f"{key} must be true or false, got {data[key]!r}")
            out[key] = data[key]
    if "questions" in required:
        questions = data["questions"]
        if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
            raise ValueError("questions must be a list of strings")
        out["questions"] = [q.strip()[:1000] for q in questions if q.strip()][:50]
    return out


def _usage(body: dict[str, Any]) -> tuple[int, int, int]:
    """(prompt, completion, cached) tokens from a chat completion body."""
    usage = body.get("usage") or {}
    details = usage.get("prompt_tokens_details") or {}
    return (
        int(usage.get("prompt_tokens") or 0),
        int(usage.get("completion_tokens") or 0),
        int(details.get("cached_tokens") or 0),
    )


def interpret_line(record: dict[str, Any], processing_type: str) -> LineOutcome:
    """Turn one parsed result line into the outcome for its request, keeping the line itself
    (``raw``) so an operator can see what the provider answered."""
    outcome = _interpret(record, processing_type)
    return replace(outcome, raw=orjson.dumps(record).decode())


def _interpret(record: dict[str, Any], processing_type: str) -> LineOutcome:
    """The outcome one parsed result line means for its request."""
    request_id = str(record.get("custom_id"))
    response = record.get("response")
    error = record.get("error")
    if error and not response:
        code = str(error.get("code") or "") if isinstance(error, dict) else ""
        message = str(error.get("message") or code) if isinstance(error, dict) else str(error)
        kind = "requeue" if code in NOT_RUN_CODES else "retry"
        return LineOutcome(request_id, kind, error=f"provider: {code}: {message}")
    if not isinstance(response, dict):
        return LineOutcome(
            request_id, "retry", error="provider line has neither response nor error"
        )
    status = int(response.get("status_code") or 0)
    body = response.get("body") if isinstance(response.get("body"), dict) else {}
    request_ref = response.get("request_id")
    if not 200 <= status < 300 or error:
        detail = body.get("error") if isinstance(body.get("error"), dict) else {}
        message = str(detail.get("message") or f"HTTP {status}")
        code = detail.get("code") or detail.get("type") or status
        kind = "fail" if 400 <= status < 500 and status not in (408, 409, 429) else "retry"
        return LineOutcome(
            request_id,
            kind,
            error=f"provider {status} {code}: {message}",
            provider_request_id=request_ref,
        )
    prompt, completion, cached = _usage(body)
    try:
        content = body["choices"][0]["message"]["content"]
        if not isinstance(content, str):
            raise TypeError("content is not text")
        fields = validate_content(processing_type, content)
    except (KeyError, IndexError, TypeError) as exc:
        return LineOutcome(
            request_id,
            "retry",
            error=f"malformed completion body: {exc}",
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_tokens=cached,
            provider_request_id=request_ref,
        )
    except ValueError as exc:
        return LineOutcome(
            request_id,
            "retry",
            error=f"invalid model answer: {exc}",
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_tokens=cached,
            provider_request_id=request_ref,
        )
    return LineOutcome(
        request_id,
        "success",
        fields=fields,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        provider_request_id=request_ref,
    )


def read_result_file(path: Path, bad: list[BadLine]) -> Iterator[dict[str, Any]]:
    """Stream parsed records from a JSONL result file; unparseable lines go to ``bad``."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            raw = raw.strip()
            if not raw:
                continue
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                bad.append(BadLine(path, number, f"not JSON: {exc}"))
                continue
            if not isinstance(record, dict) or not record.get("custom_id"):
                bad.append(BadLine(path, number, "no custom_id"))
                continue
            yield record
