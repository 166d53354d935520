"""``batchkernel costs``: spend by company, provider, model, processing type and day, read from
the database.

Spend is the sum of the requests' recorded costs (what the database holds, nothing recomputed),
dated by when each request completed (``open`` for requests charged for an attempt and not
finished yet). The synchronous price is the same tokens at the list price of the version each
request was charged at (``price_id``), so savings = list cost - cost. Estimate against actual
compares the estimate stored on each applied batch with the cost applied to it. The provider is
the one that answered each request (``openai`` for rows older than per-request providers).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal, select

from plugins.common.schema.models import AIBatchRequest, AIModelPrice, AIProcessingRequest

OPEN = "open"
DEFAULT_PROVIDER = "openai"
KEY = ("company_id", "provider", "model", "processing_type", "day")
SUMS = (
    "requests",
    "input_tokens",
    "cached_tokens",
    "output_tokens",
    "cost_usd",
    "list_cost_usd",
    "savings_usd",
    "batches",
    "estimated_cost_usd",
    "actual_cost_usd",
    "estimated_input_tokens",
    "actual_input_tokens",
    "estimated_output_tokens",
    "actual_output_tokens",
)


def _day(dialect: str, column: Any) -> Any:
    """SQL for the UTC date of a timestamp as ``YYYY-MM-DD`` text."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column)


def _spend(conn: Any, dialect: str, company: str | None, since: datetime | None) -> list[Any]:
    """Requests that cost something, grouped by company, provider, model, processing type and
    day."""
    r, p = AIProcessingRequest, AIModelPrice
    day = func.coalesce(_day(dialect, r.completed_at), literal(OPEN)).label("day")
    provider = func.coalesce(r.provider, literal(DEFAULT_PROVIDER)).label("provider")
    uncached = r.prompt_tokens - r.cached_tokens
    listed = func.coalesce(
        (
            uncached * p.input_per_million
            + r.cached_tokens * p.cached_input_per_million
            + r.completion_tokens * p.output_per_million
        )
        / 1_000_000.0,
        r.total_cost_usd,
    )
    stmt = (
        select(
            r.company_id,
            provider,
            r.model,
            r.processing_type,
            day,
            func.count(),
            func.sum(r.prompt_tokens),
            func.sum(r.cached_tokens),
            func.sum(r.completion_tokens),
            func.sum(r.total_cost_usd),
            func.sum(listed),
        )
        .outerjoin(p, p.id == r.price_id)
        .where((r.total_tokens > 0) | (r.total_cost_usd > 0))
        .group_by(r.company_id, provider, r.model, r.processing_type, day)
    )
    if company is not None:
        stmt = stmt.where(r.company_id == company)
    if since is not None:
        stmt = stmt.where((r.completed_at >= since) | r.completed_at.is_(None))
    return list(conn.execute(stmt))


def _estimates(conn: Any, dialect: str, company: str | None, since: datetime | None) -> list[Any]:
    """Applied batches' estimates and actuals, grouped like the spend (day applied)."""
    b = AIBatchRequest
    day = _day(dialect, b.applied_at).label("day")
    stmt = (
        select(
            b.company_id,
            b.provider,
            b.model,
            b.processing_type,
            day,
            func.count(),
            func.sum(b.estimated_cost_usd),
            func.sum(func.coalesce(b.actual_cost_usd, 0.0)),
            func.sum(b.estimated_input_tokens),
            func.sum(func.coalesce(b.actual_input_tokens, 0)),
            func.sum(b.estimated_output_tokens),
            func.sum(func.coalesce(b.actual_output_tokens, 0)),
        )
        .where(and_(b.applied_at.is_not(None), b.admitted_at.is_not(None)))
        .group_by(b.company_id, b.provider, b.model, b.processing_type, day)
    )
    if company is not None:
        stmt = stmt.where(b.company_id == company)
    if since is not None:
        stmt = stmt.where(b.applied_at >= since)
    return list(conn.execute(stmt))


def _rollup(rows: list[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    """Rows summed by one key column, sorted by it."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        target = out.setdefault(row[by], {by: row[by], **dict.fromkeys(SUMS, 0)})
        for name in SUMS:
            target[name] += row[name]
    return [out[key] for key in sorted(out)]


def cost_report(
    conn: Any, dialect: str, *, company: str | None = None, since: datetime | None = None
) -> dict[str, Any]:
    """Spend rows (company, provider, model, processing type, day), roll-ups by each, and the
    totals."""
    rows: dict[tuple[str, ...], dict[str, Any]] = defaultdict(dict)

    def row(key: tuple[str, ...]) -> dict[str, Any]:
        found = rows[key]
        if not found:
            found.update(dict(zip(KEY, key, strict=True)), **dict.fromkeys(SUMS, 0))
        return found

    for cid, provider, model, ptype, day, n, inp, cached, out, cost, listed in _spend(
        conn, dialect, company, since
    ):
        target = row((cid, provider, model, ptype, day))
        target.update(
            requests=int(n),
            input_tokens=int(inp or 0),
            cached_tokens=int(cached or 0),
            output_tokens=int(out or 0),
            cost_usd=float(cost or 0),
            list_cost_usd=float(listed or 0),
            savings_usd=float(listed or 0) - float(cost or 0),
        )
    for (
        cid,
        provider,
        model,
        ptype,
        day,
        n,
        est,
        act,
        est_in,
        act_in,
        est_out,
        act_out,
    ) in _estimates(conn, dialect, company, since):
        row((cid, provider, model, ptype, day)).update(
            batches=int(n),
            estimated_cost_usd=float(est or 0),
            actual_cost_usd=float(act or 0),
            estimated_input_tokens=int(est_in or 0),
            actual_input_tokens=int(act_in or 0),
            estimated_output_tokens=int(est_out or 0),
            actual_output_tokens=int(act_out or 0),
        )
    detail = [rows[key] for key in sorted(rows)]
    totals = dict.fromkeys(SUMS, 0)
    for item in detail:
        for name in SUMS:
            totals[name] += item[name]
    return {
        "scope": {"company": company, "since": since.isoformat() if since else None},
        "rows": detail,
        "by_company": _rollup(detail, "company_id"),
        "by_provider": _rollup(detail, "provider"),
        "by_model": _rollup(detail, "model"),
        "by_processing_type": _rollup(detail, "processing_type"),
        "by_day": _rollup(detail, "day"),
        "totals": totals,
    }
