"""``batchkernel results``: finished results streamed out as JSON lines or CSV, oldest first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from sqlalchemy import select

from kernel.api import KernelAPI
from kernel.types import ConfigError
from plugins.common import calls
from plugins.common.csvcells import SafeWriter
from plugins.common.schema.models import AIProcessingRequest, ChatSession
from plugins.common.schema.statuses import RequestStatus

FIELDS = ("request_id", "session_id", "company", "task", "model", "completed_at", "result")
FORMATS = ("jsonl", "csv")


def parse_since(text: str) -> datetime:
    """``--since``: an ISO date or date-time; without a zone it is UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"--since {text!r} is not a date; write 2026-12-01 or 2026-12-01T08:00:00Z"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    """A stored time as ISO 8601 UTC (SQLite hands back naive UTC values)."""
    if value is None:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def finished_results(
    kernel: KernelAPI,
    *,
    task: str | None = None,
    company: str | None = None,
    since: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """Every completed request matching the filters as one export record, streamed."""
    if task is not None:
        calls.task(kernel, task)
    r, s = AIProcessingRequest, ChatSession
    query = (
        select(
            r.id,
            s.external_id,
            r.company_id,
            r.processing_type,
            r.model,
            r.completed_at,
            r.result_json,
        )
        .join(s, s.id == r.session_id)
        .where(r.status == RequestStatus.PROCESSING_COMPLETE)
        .order_by(r.completed_at, r.id)
        .execution_options(stream_results=True, yield_per=2000)
    )
    if task is not None:
        query = query.where(r.processing_type == task)
    if company is not None:
        query = query.where(r.company_id == company)
    if since is not None:
        query = query.where(r.completed_at >= since)
    with kernel.db.read_transaction() as session:
        for row in session.execute(query):
            values = list(row)
            values[5] = _iso(values[5])
            yield dict(zip(FIELDS, values, strict=True))


def write_results(records: Iterator[dict[str, Any]], out: TextIO, fmt: str) -> int:
    """Write records as ``jsonl`` (one object a line) or ``csv`` (the result as JSON text);
    returns how many were written."""
    count = 0
    if fmt == "csv":
        writer = SafeWriter(out)
        writer.writerow(FIELDS)
        for record in records:
            result = record["result"]
            record["result"] = None if result is None else orjson.dumps(result).decode()
            writer.writerow(record[name] for name in FIELDS)
            count += 1
        return count
    for record in records:
        out.write(orjson.dumps(record).decode())
        out.write("\n")
        count += 1
    return count
