"""Run a validated batch: stream requests in processing order and write output and error JSONL."""

from __future__ import annotations

import random
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from . import endpoints, ids
from .faults import (
    LINE_DUPLICATE,
    LINE_ERROR,
    LINE_GARBAGE,
    LINE_INVALID_ANSWER,
    LINE_MISSING,
    LINE_REFUSAL,
    LINE_UNKNOWN_ID,
)

NOT_RUN_MESSAGES = {
    "batch_expired": "This request could not be executed before the completion window expired.",
    "batch_cancelled": "This request was not executed because the batch was cancelled.",
}


@dataclass(frozen=True)
class Plan:
    """Everything needed to execute a batch: where lines are, in which order, with which faults."""

    input_path: Path
    endpoint: str
    offsets: array
    custom_ids: list[str]
    order: array
    outcomes: bytearray
    line_error_status: int
    seed: str


@dataclass
class Outcome:
    """Counts, usage and the written files of an execution."""

    output_path: Path
    output_lines: int = 0
    error_path: Path | None = None
    error_lines: int = 0
    completed: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0


def execute(
    plan: Plan, done: int, not_run_code: str, output_path: Path, error_path: Path, created: int
) -> Outcome:
    """Execute the first `done` requests in plan order; the rest become `not_run_code` errors."""
    rng = random.Random(f"{plan.seed}:exec")
    outcome = Outcome(output_path=output_path, error_path=error_path)
    with (
        plan.input_path.open("rb") as source,
        output_path.open("wb") as out,
        error_path.open("wb") as err,
    ):
        for position, index in enumerate(plan.order):
            custom_id = plan.custom_ids[index]
            if position >= done:
                _write(err, _not_run_line(rng, custom_id, not_run_code))
                outcome.error_lines += 1
                continue
            source.seek(plan.offsets[index])
            request = orjson.loads(source.readline())
            _run_one(
                plan, plan.outcomes[index], request, custom_id, rng, created, out, err, outcome
            )
    return outcome


def _run_one(
    plan: Plan,
    fault: int,
    request: dict[str, Any],
    custom_id: str,
    rng: random.Random,
    created: int,
    out: BinaryIO,
    err: BinaryIO,
    outcome: Outcome,
) -> None:
    """Execute one request and route its line to the output file, the error file, or nowhere."""
    if fault == LINE_ERROR:
        result = endpoints.injected_error(plan.line_error_status)
    else:
        result = endpoints.run(
            plan.endpoint,
            request.get("body") or {},
            rng,
            created,
            invalid=fault == LINE_INVALID_ANSWER,
            refuse=fault == LINE_REFUSAL,
        )
    line = {
        "id": ids.hex_id("batch_req_", rng),
        "custom_id": custom_id,
        "response": {
            "status_code": result.status,
            "request_id": ids.hex_id("req_", rng),
            "body": result.body,
        },
        "error": None,
    }
    if result.status >= 300:
        outcome.failed += 1
        outcome.error_lines += 1
        _write(err, orjson.dumps(line))
        return
    outcome.completed += 1
    outcome.input_tokens += result.input_tokens
    outcome.output_tokens += result.output_tokens
    outcome.reasoning_tokens += result.reasoning_tokens
    if fault == LINE_MISSING:
        return
    if fault == LINE_UNKNOWN_ID:
        line["custom_id"] = ids.hex_id("unknown-", rng, 64)
    data = orjson.dumps(line)
    if fault == LINE_GARBAGE:
        data = data[: max(1, len(data) // 2)].replace(b"\n", b" ") + b"<<garbled>>"
    _write(out, data)
    outcome.output_lines += 1
    if fault == LINE_DUPLICATE:
        _write(out, data)
        outcome.output_lines += 1


def _not_run_line(rng: random.Random, custom_id: str, code: str) -> bytes:
    """An error-file line for a request that never ran (expired or cancelled)."""
    return orjson.dumps(
        {
            "id": ids.hex_id("batch_req_", rng),
            "custom_id": custom_id,
            "response": None,
            "error": {"code": code, "message": NOT_RUN_MESSAGES[code]},
        }
    )


def _write(handle: BinaryIO, data: bytes) -> None:
    """Append one JSONL line."""
    handle.write(data)
    handle.write(b"\n")


def progress(plan: Plan, done: int) -> tuple[int, int]:
    """(completed, failed) counts after the first `done` requests, as shown while in progress."""
    failed = plan.outcomes.count(LINE_ERROR, 0, done)
    return done - failed, failed
