"""Streaming validation of a batch input file, as OpenAI does while a batch is `validating`."""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from . import model, responses

MAX_REPORTED_ERRORS = 10


@dataclass
class ScanResult:
    """What validation learned: errors, or the request lines' offsets, ids, model and tokens."""

    errors: list[dict[str, Any]] = field(default_factory=list)
    offsets: array = field(default_factory=lambda: array("q"))
    custom_ids: list[str] = field(default_factory=list)
    model: str | None = None
    input_tokens: int = 0


def batch_error(code: str, message: str, line: int | None = None, param: str | None = None) -> dict:
    """One entry of `batch.errors.data`."""
    return {"code": code, "line": line, "message": message, "param": param}


def estimate_tokens(body: dict[str, Any], raw_length: int, exact: bool) -> int:
    """Input tokens of one request: as the model counts them when ``exact`` (chat messages, or
    a Responses body's instructions and input; needed against an enqueued-token limit), else
    the cheap estimate; ceil(bytes / 4) for other bodies."""
    name = str(body.get("model") or "")
    messages = body.get("messages")
    if not isinstance(messages, list) and "input" in body:
        messages = responses.conversation(body)
    if isinstance(messages, list):
        if exact:
            return model.prompt_tokens(messages, name)
        return model.approximate_prompt_tokens(messages)
    return math.ceil(raw_length / 4)


def scan_input(
    path: Path,
    endpoint: str,
    max_requests: int,
    reject_marker: str | None = None,
    exact_tokens: bool = False,
) -> ScanResult:
    """Check every line (JSON, custom_id, method, url, single model, count) in one pass; a line
    holding ``reject_marker`` (a fault) is refused by number, as a real validation failure is."""
    marker = reject_marker.encode() if reject_marker else None
    result = ScanResult()
    seen: set[str] = set()
    errors = result.errors

    def report(error: dict[str, Any]) -> None:
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append(error)

    try:
        handle = path.open("rb")
    except OSError:
        report(batch_error("empty_file", "The input file could not be read; it may be deleted."))
        return result
    with handle:
        offset = 0
        for number, raw in enumerate(handle, start=1):
            start = offset
            offset += len(raw)
            if not raw.strip():
                continue
            if len(result.offsets) >= max_requests:
                report(
                    batch_error(
                        "too_many_tasks",
                        f"The batch input file contains more than {max_requests:,} requests.",
                    )
                )
                break
            _check_line(raw, number, endpoint, result, seen, report, exact_tokens)
            if marker is not None and marker in raw:
                report(
                    batch_error(
                        "invalid_request",
                        "This line contains a request that cannot be accepted: its body is "
                        "invalid.",
                        number,
                        "body",
                    )
                )
            result.offsets.append(start)
    if not result.offsets and not errors:
        report(batch_error("empty_file", "The batch input file is empty."))
    return result


def _check_line(
    raw: bytes,
    number: int,
    endpoint: str,
    result: ScanResult,
    seen: set[str],
    report: Any,
    exact_tokens: bool,
) -> None:
    """Validate one request line and record its custom_id, model and token estimate."""
    try:
        line = orjson.loads(raw)
    except orjson.JSONDecodeError:
        line = None
    if not isinstance(line, dict):
        report(
            batch_error("invalid_json_line", "This line is not parseable as valid JSON.", number)
        )
        result.custom_ids.append("")
        return
    custom_id = line.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        report(
            batch_error(
                "missing_required_parameter",
                "Missing required parameter: 'custom_id'.",
                number,
                "custom_id",
            )
        )
        custom_id = ""
    elif custom_id in seen:
        report(
            batch_error(
                "duplicate_custom_id",
                "The custom_id for this request is a duplicate of another request. "
                "The custom_id parameter must be unique for each request in a batch.",
                number,
                "custom_id",
            )
        )
    seen.add(custom_id)
    result.custom_ids.append(custom_id)
    if line.get("method") != "POST":
        report(
            batch_error(
                "invalid_method",
                "The provided method for this request is not supported. Only POST is supported.",
                number,
                "method",
            )
        )
    if line.get("url") != endpoint:
        report(
            batch_error(
                "url_mismatch",
                "The provided URL for this request does not match the batch endpoint.",
                number,
                "url",
            )
        )
    body = line.get("body")
    if not isinstance(body, dict):
        report(
            batch_error("invalid_request", "The request body must be an object.", number, "body")
        )
        return
    line_model = body.get("model")
    if not isinstance(line_model, str) or not line_model:
        report(
            batch_error(
                "missing_required_parameter",
                "Missing required parameter: 'body.model'.",
                number,
                "body.model",
            )
        )
    elif result.model is None:
        result.model = line_model
    elif line_model != result.model:
        report(
            batch_error(
                "model_mismatch",
                "The provided model for this request does not match the model of other requests "
                "in the batch. Each batch can only include requests to a single model.",
                number,
                "body.model",
            )
        )
    result.input_tokens += estimate_tokens(body, len(raw), exact_tokens)
