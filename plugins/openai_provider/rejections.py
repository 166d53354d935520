"""The requests a failed validation blamed: the provider names lines of the input file
(``errors.data[].line``, 1-based); the input file tells whose request each line was."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import orjson

from kernel.types import BatchError


def blamed_lines(errors: Iterable[BatchError]) -> dict[int, str]:
    """Line number -> the provider's message for it (first error of a line wins)."""
    lines: dict[int, str] = {}
    for error in errors:
        if error.line is not None and error.line > 0 and error.line not in lines:
            code = f"{error.code}: " if error.code else ""
            lines[error.line] = f"{code}{error.message}"
    return lines


def rejected_requests(input_path: Path, lines: dict[int, str]) -> dict[str, str]:
    """custom_id -> message for every blamed line of ``input_path`` whose custom_id can be read
    (streamed; stops after the last blamed line). A line too broken to name its request is left
    out: its batch then counts as failed without a line."""
    if not lines:
        return {}
    last = max(lines)
    rejected: dict[str, str] = {}
    with input_path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number > last:
                break
            message = lines.get(number)
            if message is None:
                continue
            custom_id = _custom_id(raw)
            if custom_id:
                rejected[custom_id] = f"rejected by the provider (input line {number}): {message}"
    return rejected


def _custom_id(raw: bytes) -> str | None:
    """The ``custom_id`` of one input line, if it is a JSON object carrying one."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    value = record.get("custom_id") if isinstance(record, dict) else None
    return value if isinstance(value, str) and value else None
