"""Run the requests of a batch and lay out its output: a JSONL responses file (file input) or
inlined responses (inline input), in input order unless results are shuffled, with the line
faults of the shared emulator (errored, missing, garbled, unknown-key and duplicated lines)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import orjson

from plugins.emulator.faults import (
    LINE_DUPLICATE,
    LINE_ERROR,
    LINE_GARBAGE,
    LINE_MISSING,
    LINE_UNKNOWN_ID,
)

from .errors import RPC_CODES, STATUS_BY_HTTP
from .generate import answer


@dataclass(frozen=True)
class Item:
    """One request of a batch: its key (file) or metadata (inline), and the request."""

    key: str
    request: Any
    metadata: dict[str, Any] | None = None


@dataclass
class Results:
    """What ran: counts, usage and the entries in output order."""

    succeeded: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    entries: list[bytes | dict[str, Any]] = field(default_factory=list)


def run(
    items: Sequence[Item],
    done: int,
    outcomes: bytearray,
    *,
    model_name: str,
    thoughts_tokens: int,
    line_error_status: int,
    inline: bool,
    shuffle_seed: str | None,
) -> Results:
    """Execute the first ``done`` requests; entries are dicts (inline) or JSONL lines (file)."""
    results = Results()
    rng = random.Random(f"{shuffle_seed}:keys")
    for index in range(done):
        item = items[index]
        fault = outcomes[index] if index < len(outcomes) else 0
        if fault == LINE_ERROR:
            status = STATUS_BY_HTTP.get(line_error_status, "INTERNAL")
            entry: dict[str, Any] = {
                "error": {
                    "code": RPC_CODES[status][0],
                    "message": "Injected fault: the request failed.",
                }
            }
        else:
            result = answer(item.request, model_name, thoughts_tokens)
            results.input_tokens += result.input_tokens
            results.output_tokens += result.output_tokens
            entry = (
                {"response": result.response} if result.error is None else {"error": result.error}
            )
        if "error" in entry:
            results.failed += 1
        else:
            results.succeeded += 1
        if fault == LINE_MISSING or (fault == LINE_GARBAGE and inline):
            continue
        key = f"unknown-{rng.getrandbits(64):016x}" if fault == LINE_UNKNOWN_ID else item.key
        data: bytes | dict[str, Any]
        if inline:
            metadata = dict(item.metadata or {})
            if fault == LINE_UNKNOWN_ID:
                metadata["key"] = key
            data = {**entry, **({"metadata": metadata} if metadata else {})}
        else:
            data = orjson.dumps({"key": key, **entry})
            if fault == LINE_GARBAGE:
                data = data[: max(1, len(data) // 2)] + b"<<garbled>>"
        results.entries.append(data)
        if fault == LINE_DUPLICATE:
            results.entries.append(data)
    if shuffle_seed is not None:
        random.Random(f"{shuffle_seed}:order").shuffle(results.entries)
    return results


def write_lines(handle: BinaryIO, entries: Sequence[bytes | dict[str, Any]]) -> None:
    """Write file entries as JSONL."""
    for entry in entries:
        handle.write(entry if isinstance(entry, bytes) else orjson.dumps(entry))
        handle.write(b"\n")
