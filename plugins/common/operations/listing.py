"""Filtered, paginated listings of batches and requests: one statement per page (``LIMIT`` one
more row than shown, to know whether a next page exists), newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from kernel.types import BatchStatus
from plugins.common.operations.filters import FilterError, Filters
from plugins.common.schema.models import AIBatchRequest, AIProcessingRequest, ChatSession, Company

ERROR_PREVIEW = 160
PROGRESS_DONE = frozenset({BatchStatus.APPLIED.value})


@dataclass(frozen=True, slots=True)
class Page:
    """One page of rows (plain dicts, JSON-ready) and whether another follows."""

    rows: list[dict[str, Any]]
    page: int
    page_size: int
    has_next: bool

    def as_dict(self) -> dict[str, Any]:
        """The page as JSON-ready data."""
        return {
            "rows": self.rows,
            "page": self.page,
            "page_size": self.page_size,
            "has_next": self.has_next,
        }


def iso(value: datetime | None) -> str | None:
    """A timestamp as ISO-8601 UTC (SQLite hands back naive UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def provider_column(table: Any) -> Any:
    """The ``provider`` column of a table, or a clear error while the schema has none."""
    column = getattr(table, "provider", None)
    if column is None:
        raise FilterError(
            "this database records no provider per request or batch yet, so it cannot be "
            "filtered by provider; leave the provider filter out"
        )
    return column


def filtered(stmt: Any, table: Any, filters: Filters, time_column: Any) -> Any:
    """``stmt`` limited by the filters that apply to ``table``."""
    if filters.company is not None:
        stmt = stmt.where(table.company_id == filters.company)
    if filters.state is not None:
        stmt = stmt.where(table.status == filters.state)
    if filters.task is not None:
        stmt = stmt.where(table.processing_type == filters.task)
    if filters.provider is not None:
        stmt = stmt.where(provider_column(table) == filters.provider)
    if filters.since is not None:
        stmt = stmt.where(time_column >= filters.since)
    if filters.batch is not None and table is AIProcessingRequest:
        stmt = stmt.where(table.batch_id == filters.batch)
    return stmt


def _page(rows: list[Any], page: int, size: int) -> tuple[list[Any], bool]:
    """The rows to show and whether there are more."""
    return rows[:size], len(rows) > size


def progress(status: str, done: int, total: int) -> float:
    """How far a batch is, 0 to 1: the provider's counts while it runs, 1 once applied."""
    if status in PROGRESS_DONE:
        return 1.0
    if total > 0:
        return min(1.0, done / total)
    return 0.0


def batch_row(row: Any) -> dict[str, Any]:
    """One batch as a listing row."""
    done = int(row.counts_completed or 0) + int(row.counts_failed or 0)
    cost = row.actual_cost_usd if row.actual_cost_usd is not None else row.estimated_cost_usd
    out = {
        "id": row.id,
        "company_id": row.company_id,
        "task": row.processing_type,
        "model": row.model,
        "state": row.status,
        "provider_batch_id": row.provider_batch_id,
        "requests": int(row.request_count or 0),
        "completed": int(row.counts_completed or 0),
        "failed": int(row.counts_failed or 0),
        "total": int(row.counts_total or 0),
        "progress": round(progress(row.status, done, int(row.counts_total or 0)), 4),
        "cost_usd": float(cost or 0.0),
        "cost_is_estimate": row.actual_cost_usd is None,
        "created_at": iso(row.created_at),
        "submitted_at": iso(row.submitted_at),
        "ended_at": iso(row.ended_at),
        "applied_at": iso(row.applied_at),
    }
    if "provider" in row._fields:
        out["provider"] = row.provider
    return out


def batch_columns() -> list[Any]:
    """The columns a batch row is built from (``provider`` when the schema has it)."""
    b = AIBatchRequest
    columns = [
        b.id,
        b.company_id,
        b.processing_type,
        b.model,
        b.status,
        b.provider_batch_id,
        b.request_count,
        b.counts_completed,
        b.counts_failed,
        b.counts_total,
        b.actual_cost_usd,
        b.estimated_cost_usd,
        b.created_at,
        b.submitted_at,
        b.ended_at,
        b.applied_at,
    ]
    if getattr(b, "provider", None) is not None:
        columns.append(b.provider)
    return columns


def list_batches(conn: Connection, filters: Filters, page: int, page_size: int) -> Page:
    """One page of batches matching ``filters``, newest first."""
    b = AIBatchRequest
    stmt = filtered(select(*batch_columns()), b, filters, b.created_at)
    stmt = stmt.order_by(b.created_at.desc(), b.id.desc())
    rows = conn.execute(stmt.offset((page - 1) * page_size).limit(page_size + 1)).all()
    shown, more = _page(list(rows), page, page_size)
    return Page([batch_row(row) for row in shown], page, page_size, more)


def request_row(row: Any) -> dict[str, Any]:
    """One request as a listing row (the error cut to a preview)."""
    error = row.error
    if error is not None and len(error) > ERROR_PREVIEW:
        error = error[: ERROR_PREVIEW - 1] + "…"
    out = {
        "id": row.id,
        "company_id": row.company_id,
        "session": row.external_id,
        "task": row.processing_type,
        "model": row.model,
        "state": row.status,
        "attempts": int(row.attempts or 0),
        "batch_id": row.batch_id,
        "requested_at": iso(row.requested_at),
        "completed_at": iso(row.completed_at),
        "cost_usd": float(row.total_cost_usd or 0.0),
        "error": error,
    }
    if "provider" in row._fields:
        out["provider"] = row.provider
    return out


def list_requests(conn: Connection, filters: Filters, page: int, page_size: int) -> Page:
    """One page of requests matching ``filters``, newest first, with their session's id."""
    r = AIProcessingRequest
    columns = [
        r.id,
        r.company_id,
        ChatSession.external_id,
        r.processing_type,
        r.model,
        r.status,
        r.attempts,
        r.batch_id,
        r.requested_at,
        r.completed_at,
        r.total_cost_usd,
        r.error,
    ]
    if getattr(r, "provider", None) is not None:
        columns.append(r.provider)
    stmt = select(*columns).join(ChatSession, ChatSession.id == r.session_id)
    stmt = filtered(stmt, r, filters, r.requested_at)
    stmt = stmt.order_by(r.requested_at.desc(), r.id.desc())
    rows = conn.execute(stmt.offset((page - 1) * page_size).limit(page_size + 1)).all()
    shown, more = _page(list(rows), page, page_size)
    return Page([request_row(row) for row in shown], page, page_size, more)


def list_companies(conn: Connection, page: int, page_size: int, company: str | None = None) -> Page:
    """One page of companies by id: status, paused since, own provider list, and their requests
    by state."""
    r = AIProcessingRequest
    companies = select(
        Company.id, Company.name, Company.status, Company.paused_at, Company.providers
    ).order_by(Company.id)
    if company is not None:
        companies = companies.where(Company.id == company)
    rows = conn.execute(companies.offset((page - 1) * page_size).limit(page_size + 1)).all()
    shown, more = _page(list(rows), page, page_size)
    ids = [row.id for row in shown]
    by_company: dict[str, dict[str, int]] = {cid: {} for cid in ids}
    if ids:
        for cid, status, n in conn.execute(
            select(r.company_id, r.status, func.count())
            .where(r.company_id.in_(ids))
            .group_by(r.company_id, r.status)
        ):
            by_company[cid][status] = int(n)
    return Page(
        [
            {
                "id": row.id,
                "name": row.name,
                "status": row.status,
                "paused": row.paused_at is not None,
                "paused_at": iso(row.paused_at),
                "providers": list(row.providers or []),
                "requests": by_company[row.id],
            }
            for row in shown
        ],
        page,
        page_size,
        more,
    )
