"""Set-based read queries for monitoring (``status``, ``serve``, telemetry gauges), on their own engine.

A :class:`MonitorReader` opens a separate, small connection pool so monitoring reads never count
towards the pipeline's measured queries and, on SQLite, never take the write lock (the pipeline's
engine begins every transaction ``IMMEDIATE``; plain reads in WAL mode need no lock).
Each query is one set-based statement. The snapshot's queries return a bounded number of rows
whatever the number of companies: totals grouped by state, one page of companies ranked in SQL,
and per-company details only for the companies on that page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast, overload

from sqlalchemy import (
    Connection,
    Engine,
    String,
    case,
    create_engine,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.engine import URL

from kernel.db.models import SchedulerInstance
from plugins.common.schema.models import AIBatchRequest, AIProcessingRequest, Company
from plugins.common.schema.statuses import RequestStatus

IN_FLIGHT = RequestStatus.BATCHING_IN_PROGRESS.value
COMPANY_ID_LENGTH: int = cast(String, Company.__table__.c.id.type).length or 0
TERMINAL = (RequestStatus.PROCESSING_COMPLETE.value, RequestStatus.PROCESSING_FAILED.value)
READ_TIMEOUT_MS = 5000


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """Timestamps read back from SQLite are naive UTC; make every one aware."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RequestGroup:
    """Requests of one company in one state, with their tokens and cost."""

    company_id: str
    status: str
    count: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


class MonitorReader:
    """A read-only view of the database for monitoring, with its own small pool."""

    def __init__(self, url: URL) -> None:
        self.dialect = url.get_backend_name()
        if self.dialect == "sqlite":
            self.engine: Engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": READ_TIMEOUT_MS / 1000}
            )
        else:
            if url.drivername == "postgresql":
                url = url.set(drivername="postgresql+psycopg")
            self.engine = create_engine(
                url,
                pool_size=1,
                max_overflow=2,
                pool_pre_ping=True,
                connect_args={
                    "options": f"-c statement_timeout={READ_TIMEOUT_MS} "
                    "-c default_transaction_read_only=on",
                    "connect_timeout": 5,
                },
            )

    @classmethod
    def for_database(cls, database: Any) -> MonitorReader:
        """A reader on the same database as a :class:`kernel.db.engine.Database`."""
        return cls(database.url)

    def connect(self) -> Connection:
        """A connection to read with (use as a context manager)."""
        return self.engine.connect()

    def ping(self) -> None:
        """Raise if the database cannot be reached (readiness check)."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close the pool."""
        self.engine.dispose()


def _scoped(stmt: Any, column: Any, company: str | None) -> Any:
    """Restrict ``stmt`` to one company when asked."""
    return stmt.where(column == company) if company is not None else stmt


def request_groups(conn: Connection, company: str | None = None) -> list[RequestGroup]:
    """One GROUP BY over requests: count, tokens and cost per company and state."""
    r = AIProcessingRequest
    stmt = select(
        r.company_id,
        r.status,
        func.count(),
        func.coalesce(func.sum(r.prompt_tokens), 0),
        func.coalesce(func.sum(r.completion_tokens), 0),
        func.coalesce(func.sum(r.total_cost_usd), 0.0),
    ).group_by(r.company_id, r.status)
    rows = conn.execute(_scoped(stmt, r.company_id, company)).all()
    return [RequestGroup(c, s, int(n), int(i), int(o), float(cost)) for c, s, n, i, o, cost in rows]


@dataclass(frozen=True, slots=True)
class BatchGroup:
    """Batches of one provider in one state: how many, the requests sent in them, what the
    provider reported done and failed, and the tokens and cost applied from them."""

    provider: str
    status: str
    batches: int
    requests: int
    completed: int
    failed: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


def batch_groups(conn: Connection, company: str | None = None) -> list[BatchGroup]:
    """One GROUP BY over batches by provider and state (batches are few next to requests)."""
    b = AIBatchRequest
    sums = (
        b.request_count,
        b.counts_completed,
        b.counts_failed,
        b.actual_input_tokens,
        b.actual_output_tokens,
    )
    stmt = select(
        b.provider,
        b.status,
        func.count(),
        *(func.coalesce(func.sum(column), 0) for column in sums),
        func.coalesce(func.sum(b.actual_cost_usd), 0.0),
    ).group_by(b.provider, b.status)
    return [
        BatchGroup(p, s, int(n), int(m), int(done), int(bad), int(inp), int(out), float(cost))
        for p, s, n, m, done, bad, inp, out, cost in conn.execute(
            _scoped(stmt, b.company_id, company)
        )
    ]


def oldest_pending(conn: Connection, company: str | None = None) -> dict[str, datetime]:
    """The oldest pending request's ``requested_at`` per company, in one query."""
    r = AIProcessingRequest
    stmt = (
        select(r.company_id, func.min(r.requested_at))
        .where(r.status == RequestStatus.PENDING_BATCHING)
        .group_by(r.company_id)
    )
    rows = conn.execute(_scoped(stmt, r.company_id, company)).all()
    return {c: as_utc(t) for c, t in rows if t is not None}


def instances(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The most recently active scheduler instances, newest heartbeat first, as plain dicts."""
    i = SchedulerInstance
    rows = conn.execute(
        select(
            i.id,
            i.host,
            i.pid,
            i.started_at,
            i.heartbeat_at,
            i.stopped_at,
            i.tasks,
            i.plugin_status,
        )
        .order_by(i.heartbeat_at.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": row.id,
            "host": row.host,
            "pid": row.pid,
            "started_at": as_utc(row.started_at),
            "heartbeat_at": as_utc(row.heartbeat_at),
            "stopped_at": as_utc(row.stopped_at),
            "tasks": dict(row.tasks or {}),
            "plugin_status": dict(row.plugin_status or {}),
        }
        for row in rows
    ]


def _minute(dialect: str, column: Any) -> Any:
    """SQL that truncates a timestamp to its minute, per dialect."""
    if dialect == "postgresql":
        return func.date_trunc("minute", column)
    return func.strftime("%Y-%m-%d %H:%M:00", column)


def throughput(
    conn: Connection,
    dialect: str,
    *,
    minutes: int = 60,
    company: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Requests finished per minute over the last ``minutes``: completed, failed, tokens, cost.

    Filtered on ``completed_at`` only and split by state with conditional sums: most requests
    are finished, so going through the status index would read nearly every row at random.
    """
    r = AIProcessingRequest
    cutoff = (now or datetime.now(UTC)) - timedelta(minutes=minutes)
    bucket = _minute(dialect, r.completed_at).label("minute")
    finished = r.status.in_(TERMINAL)

    def total(value: Any) -> Any:
        return func.coalesce(func.sum(case((finished, value), else_=literal(0))), 0)

    stmt = (
        select(
            bucket,
            _count_in(r.status, TERMINAL[0]),
            _count_in(r.status, TERMINAL[1]),
            total(r.prompt_tokens + r.completion_tokens),
            total(r.total_cost_usd),
        )
        .where(r.completed_at >= cutoff)
        .group_by(bucket)
        .order_by(bucket)
    )
    out = []
    for minute, completed, failed, tokens, cost in conn.execute(
        _scoped(stmt, r.company_id, company)
    ):
        if completed or failed:
            out.append(
                {
                    "minute": _minute_key(minute),
                    "completed": int(completed),
                    "failed": int(failed),
                    "tokens": int(tokens),
                    "cost_usd": float(cost),
                }
            )
    return out


def _minute_key(value: Any) -> str:
    """A minute bucket as an ISO-8601 UTC string, from a datetime (PostgreSQL) or text (SQLite)."""
    if isinstance(value, datetime):
        moment = as_utc(value)
    else:
        moment = datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
    assert moment is not None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:00Z")


@dataclass(frozen=True, slots=True)
class RequestTotals:
    """Requests (of one company or all) by state, with their tokens and cost."""

    by_state: dict[str, int]
    input_tokens: int
    output_tokens: int
    cost_usd: float


def _count_in(column: Any, state: str) -> Any:
    """``SUM(CASE WHEN column = state THEN 1 ELSE 0 END)``: a count by state in one pass."""
    return func.coalesce(func.sum(case((column == state, 1), else_=literal(0))), 0)


def request_totals(conn: Connection, company: str | None = None) -> RequestTotals:
    """One row: requests by state, tokens and cost (conditional sums in one sequential pass,
    which both databases run faster than a GROUP BY through the status index)."""
    r = AIProcessingRequest
    states = [s.value for s in RequestStatus]
    stmt = select(
        *(_count_in(r.status, state) for state in states),
        func.coalesce(func.sum(r.prompt_tokens), 0),
        func.coalesce(func.sum(r.completion_tokens), 0),
        func.coalesce(func.sum(r.total_cost_usd), 0.0),
    )
    row = conn.execute(_scoped(stmt, r.company_id, company)).one()
    counts = row[: len(states)]
    return RequestTotals(
        {state: int(n) for state, n in zip(states, counts, strict=True)},
        int(row[len(states)]),
        int(row[len(states) + 1]),
        float(row[len(states) + 2]),
    )


def batch_totals(conn: Connection, company: str | None = None) -> dict[str, int]:
    """Batches by state (all companies, or one): at most one row per state."""
    b = AIBatchRequest
    stmt = select(b.status, func.count()).group_by(b.status)
    return {s: int(n) for s, n in conn.execute(_scoped(stmt, b.company_id, company))}


def first_pending(conn: Connection, company: str | None = None) -> tuple[str, datetime] | None:
    """The oldest pending request's company and ``requested_at`` (index on status, time)."""
    r = AIProcessingRequest
    stmt = select(r.company_id, r.requested_at).where(r.status == RequestStatus.PENDING_BATCHING)
    row = conn.execute(
        _scoped(stmt, r.company_id, company).order_by(r.requested_at, r.company_id).limit(1)
    ).first()
    if row is None:
        return None
    moment = as_utc(row[1])
    assert moment is not None
    return row[0], moment


def company_count(conn: Connection) -> int:
    """How many companies there are."""
    return int(conn.execute(select(func.count()).select_from(Company)).scalar_one())


@dataclass(frozen=True, slots=True)
class CompanyRank:
    """One company on a page of the ranking: its requests by state, tokens and cost."""

    company_id: str
    name: str
    status: str
    requests: dict[str, int]
    input_tokens: int
    output_tokens: int
    cost_usd: float
    oldest_pending: datetime | None


def company_page(
    conn: Connection,
    *,
    offset: int,
    limit: int,
    company: str | None = None,
) -> list[CompanyRank]:
    """One page of companies, largest backlog (pending + in flight) first, then highest cost.

    One statement: requests grouped by company (counts by state, tokens, cost, the oldest
    pending request), joined to the companies, sorted and cut in the database, so at most
    ``limit`` rows come back whatever the number of companies.
    """
    r = AIProcessingRequest
    states = [s.value for s in RequestStatus]
    grouped = select(
        r.company_id,
        *(_count_in(r.status, state).label(f"n_{state}") for state in states),
        func.sum(r.prompt_tokens).label("input_tokens"),
        func.sum(r.completion_tokens).label("output_tokens"),
        func.sum(r.total_cost_usd).label("cost_usd"),
        func.min(case((r.status == RequestStatus.PENDING_BATCHING, r.requested_at))).label(
            "oldest_pending"
        ),
    ).group_by(r.company_id)
    grouped = _scoped(grouped, r.company_id, company).subquery()
    g = grouped.c
    backlog = func.coalesce(g[f"n_{RequestStatus.PENDING_BATCHING}"], 0) + func.coalesce(
        g[f"n_{IN_FLIGHT}"], 0
    )
    cost = func.coalesce(g.cost_usd, 0.0)
    stmt = (
        select(
            Company.id,
            Company.name,
            Company.status,
            *(func.coalesce(g[f"n_{state}"], 0) for state in states),
            func.coalesce(g.input_tokens, 0),
            func.coalesce(g.output_tokens, 0),
            cost,
            g.oldest_pending,
        )
        .outerjoin(grouped, g.company_id == Company.id)
        .order_by(backlog.desc(), cost.desc(), Company.id)
        .offset(offset)
        .limit(limit)
    )
    stmt = _scoped(stmt, Company.id, company)
    out = []
    for row in conn.execute(stmt):
        cid, name, status, *counts = row
        tokens_in, tokens_out, spent, oldest = counts[len(states) :]
        out.append(
            CompanyRank(
                cid,
                name,
                status,
                {state: int(n) for state, n in zip(states, counts[: len(states)], strict=True)},
                int(tokens_in),
                int(tokens_out),
                float(spent),
                _moment(oldest),
            )
        )
    return out


def batch_groups_of(conn: Connection, companies: Sequence[str]) -> list[tuple[str, str, int]]:
    """Batches by (company, state) for the given companies only (one page's worth)."""
    if not companies:
        return []
    b = AIBatchRequest
    stmt = (
        select(b.company_id, b.status, func.count())
        .where(b.company_id.in_(list(companies)))
        .group_by(b.company_id, b.status)
    )
    return [(c, s, int(n)) for c, s, n in conn.execute(stmt)]


def _moment(value: Any) -> datetime | None:
    """A timestamp from an aggregate: a datetime (PostgreSQL) or ISO text (SQLite's MIN)."""
    if value is None or isinstance(value, datetime):
        return as_utc(value)
    return as_utc(datetime.fromisoformat(str(value)))
