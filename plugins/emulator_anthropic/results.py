"""Run a batch's requests in processing order and write the results JSONL (any order, faults)."""

from __future__ import annotations

import random
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from . import ids
from .answers import PromptCache, answer
from .errors import error_body
from .lines import (
    LINE_DUPLICATE,
    LINE_ERROR,
    LINE_GARBAGE,
    LINE_INVALID_ANSWER,
    LINE_MISSING,
    LINE_REFUSAL,
    LINE_UNKNOWN_ID,
)
from .validation import params_problem

INJECTED_MESSAGES = {
    "api_error": "Internal server error",
    "overloaded_error": "Overloaded",
    "invalid_request_error": "prompt is too long: 210000 tokens > 200000 maximum",
}


@dataclass(frozen=True)
class Plan:
    """Everything needed to run a batch: where each request is, in which order, with which faults."""

    input_path: Path
    offsets: array
    custom_ids: list[str]
    order: array
    outcomes: bytearray
    line_error_type: str
    seed: str


@dataclass
class Counts:
    """The ended batch's ``request_counts`` (without ``processing``)."""

    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0
    by_id: dict[str, str] = field(default_factory=dict)

    def as_api(self) -> dict[str, int]:
        """``request_counts`` of an ended batch."""
        return {
            "processing": 0,
            "succeeded": self.succeeded,
            "errored": self.errored,
            "canceled": self.canceled,
            "expired": self.expired,
        }


def run(plan: Plan, done: int, not_run: str, output: Path, cache: PromptCache) -> Counts:
    """Run the first ``done`` requests in plan order; the rest get the result type ``not_run``
    (``canceled`` or ``expired``). Writes one line per request, faults applied."""
    rng = random.Random(f"{plan.seed}:run")
    counts = Counts()
    with plan.input_path.open("rb") as source, output.open("wb") as out:
        for position, index in enumerate(plan.order):
            custom_id = plan.custom_ids[index]
            if position >= done:
                _tally(counts, custom_id, not_run)
                _write(out, orjson.dumps({"custom_id": custom_id, "result": {"type": not_run}}))
                continue
            source.seek(plan.offsets[index])
            params = orjson.loads(source.readline())
            fault = plan.outcomes[index]
            result = _result(params, fault, plan.line_error_type, rng, cache)
            _tally(counts, custom_id, result["type"])
            _emit(out, custom_id, result, fault, rng)
    return counts


def _result(
    params: dict[str, Any], fault: int, error_type: str, rng: random.Random, cache: PromptCache
) -> dict[str, Any]:
    """The ``result`` object of one request that ran."""
    if fault == LINE_ERROR:
        return _errored(error_type, INJECTED_MESSAGES[error_type], rng)
    problem = params_problem(params)
    if problem is not None:
        return _errored("invalid_request_error", problem, rng)
    message = answer(
        params, rng, cache, invalid=fault == LINE_INVALID_ANSWER, refuse=fault == LINE_REFUSAL
    )
    return {"type": "succeeded", "message": message}


def _errored(error_type: str, message: str, rng: random.Random) -> dict[str, Any]:
    """An ``errored`` result carrying the Messages API's error response."""
    return {"type": "errored", "error": error_body(error_type, message, ids.seeded("req_", rng))}


def _tally(counts: Counts, custom_id: str, kind: str) -> None:
    """Count one request's result type."""
    setattr(counts, kind, getattr(counts, kind) + 1)
    counts.by_id[custom_id] = kind


def _emit(
    out: BinaryIO, custom_id: str, result: dict[str, Any], fault: int, rng: random.Random
) -> None:
    """Write one result line as the fault says: as is, missing, garbled, unknown id or twice."""
    if fault == LINE_MISSING:
        return
    line = {"custom_id": custom_id, "result": result}
    if fault == LINE_UNKNOWN_ID:
        line["custom_id"] = ids.seeded("unknown_", rng)
    data = orjson.dumps(line)
    if fault == LINE_GARBAGE:
        data = data[: max(1, len(data) // 2)].replace(b"\n", b" ") + b"<<garbled>>"
    _write(out, data)
    if fault == LINE_DUPLICATE:
        _write(out, data)


def _write(handle: BinaryIO, data: bytes) -> None:
    """Append one JSONL line."""
    handle.write(data)
    handle.write(b"\n")
