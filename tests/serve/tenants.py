"""Many tenants fast: companies, sessions, requests and batches written with set-based inserts.

Used by the boundedness tests (a few thousand companies) and by ``tests/serve/measure_scale.py``
(100,000 companies). Company ``i`` gets ``i % 5`` pending requests, one finished request with
tokens and cost, and one applied batch; so backlogs and costs differ and rankings are checkable.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from plugins.common.schema.models import AIBatchRequest, AIProcessingRequest, ChatSession, Company

CHUNK = 5000


def company_id(index: int) -> str:
    """The id of synthetic tenant ``index``."""
    return f"tenant-{index:06d}"


def pending_of(index: int) -> int:
    """How many pending requests tenant ``index`` has."""
    return index % 5


def cost_of(index: int) -> float:
    """The cost of tenant ``index``'s finished request."""
    return round(0.0001 * (index % 97 + 1), 6)


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Rows in lists of ``CHUNK``."""
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def seed_tenants(
    engine: Engine,
    companies: int,
    *,
    start: int = 0,
    ids: dict[int, str] | None = None,
    names: dict[int, str] | None = None,
) -> None:
    """Write ``companies`` tenants (indexes ``start`` .. ``start + companies - 1``); ``ids`` and
    ``names`` replace the synthetic id or name of some indexes."""
    now = datetime.now(UTC).replace(tzinfo=None)
    ids = ids or {}
    names = names or {}

    def tenant_rows() -> Iterator[tuple[str, list[Any]]]:
        for index in range(start, start + companies):
            cid = ids.get(index, company_id(index))
            batch = str(uuid.uuid4())
            rows: list[Any] = [
                (
                    "company",
                    {
                        "id": cid,
                        "name": names.get(index, f"Tenant {index}"),
                        "status": "ACTIVE",
                        "weight": 1.0,
                        "created_at": now,
                        "updated_at": now,
                    },
                ),
                (
                    "batch",
                    {
                        "id": batch,
                        "company_id": cid,
                        "model": "gpt-4o-mini",
                        "processing_type": "analysis",
                        "status": "APPLIED",
                        "submission_key": batch,
                        "request_count": 1,
                        "created_at": now,
                        "admitted_at": now - timedelta(days=index % 60),
                        "applied_at": now,
                    },
                ),
            ]
            for n in range(pending_of(index) + 1):
                session = str(uuid.uuid4())
                done = n == 0
                rows.append(
                    (
                        "session",
                        {
                            "id": session,
                            "company_id": cid,
                            "external_id": f"s-{n}",
                            "message_count": 1,
                            "created_at": now,
                        },
                    )
                )
                rows.append(
                    (
                        "request",
                        {
                            "id": str(uuid.uuid4()),
                            "session_id": session,
                            "company_id": cid,
                            "processing_type": "analysis",
                            "model": "gpt-4o-mini",
                            "status": "PROCESSING_COMPLETE" if done else "PENDING_BATCHING",
                            "batch_id": batch if done else None,
                            "requested_at": now - timedelta(minutes=index % 50 + n),
                            "available_at": now,
                            "completed_at": now if done else None,
                            "prompt_tokens": 100 if done else 0,
                            "completion_tokens": 20 if done else 0,
                            "total_tokens": 120 if done else 0,
                            "total_cost_usd": cost_of(index) if done else 0.0,
                        },
                    )
                )
            yield cid, rows

    tables = {
        "company": Company.__table__,
        "batch": AIBatchRequest.__table__,
        "session": ChatSession.__table__,
        "request": AIProcessingRequest.__table__,
    }
    order = ("company", "session", "batch", "request")
    buffered: dict[str, list[dict[str, Any]]] = {kind: [] for kind in order}

    def flush(conn: Any) -> None:
        for kind in order:
            if buffered[kind]:
                conn.execute(insert(tables[kind]), buffered[kind])
                buffered[kind] = []

    with engine.begin() as conn:
        for _, rows in tenant_rows():
            for kind, row in rows:
                buffered[kind].append(row)
            if len(buffered["request"]) >= CHUNK:
                flush(conn)
        flush(conn)
