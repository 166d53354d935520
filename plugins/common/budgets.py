"""Spend budgets and batch usage: the settings, the one query both admission and status read, and
the budget section of the monitoring snapshot.

A batch commits spend from the moment it is admitted (``admitted_at``): its estimate while it
runs, its actual cost once its results are applied, nothing if it was abandoned. A budget's
period (UTC day or calendar month) is the one in which the batch was admitted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select

from kernel.types import BatchStatus
from plugins.common.schema.models import AIBatchRequest, BudgetHold
from plugins.common.schema.statuses import IN_FLIGHT_BATCH_STATUSES

PERIODS = ("day", "month")
EPSILON = 1e-9
INFLIGHT = [s.value for s in IN_FLIGHT_BATCH_STATUSES]


@dataclass(frozen=True, slots=True)
class Budget:
    """One spend limit: ``scope`` is a company id or ``*`` (all companies), per ``period``."""

    scope: str
    period: str
    limit_usd: float

    def describe(self) -> str:
        """Human words for this budget."""
        who = "overall" if self.scope == "*" else f"company {self.scope}"
        return f"{who} {'daily' if self.period == 'day' else 'monthly'} budget of ${self.limit_usd:,.4f}"


@dataclass(frozen=True, slots=True)
class Budgets:
    """Every configured budget (``budgets.*`` settings) and the warning threshold."""

    overall: tuple[Budget, ...]
    company_default: dict[str, float]
    companies: dict[str, dict[str, float]]
    warn_fraction: float = 0.8

    @classmethod
    def from_settings(cls, settings: Any) -> Budgets:
        """Read ``budgets.{daily,monthly,company_daily,company_monthly}_usd`` and ``companies``."""
        section = settings.get("budgets") or {}
        overall = tuple(
            Budget("*", period, float(section.get(f"{word}_usd", 0) or 0))
            for period, word in (("day", "daily"), ("month", "monthly"))
            if float(section.get(f"{word}_usd", 0) or 0) > 0
        )
        default = {
            "day": float(section.get("company_daily_usd", 0) or 0),
            "month": float(section.get("company_monthly_usd", 0) or 0),
        }
        companies = {
            str(cid): {
                "day": float(values.get("daily_usd", default["day"]) or 0),
                "month": float(values.get("monthly_usd", default["month"]) or 0),
            }
            for cid, values in (section.get("companies") or {}).items()
        }
        return cls(overall, default, companies, float(section.get("warn_fraction", 0.8)))

    @property
    def any(self) -> bool:
        """Whether any budget is configured at all."""
        return bool(
            self.overall
            or any(self.company_default.values())
            or any(v for limits in self.companies.values() for v in limits.values())
        )

    def for_company(self, company_id: str) -> list[Budget]:
        """The budgets a batch of this company must fit: its own, then the overall ones."""
        limits = self.companies.get(company_id, self.company_default)
        own = [Budget(company_id, p, limits[p]) for p in PERIODS if limits.get(p, 0) > 0]
        return own + list(self.overall)


@dataclass(slots=True)
class Usage:
    """Batches of one company, model and processing type, as admission and status need them."""

    inflight: int = 0
    inflight_tokens: int = 0
    last_admitted: datetime | None = None
    history_output: int = 0
    history_requests: int = 0
    spend: dict[str, float] = field(default_factory=lambda: {"day": 0.0, "month": 0.0})


def period_starts(now: datetime) -> dict[str, datetime]:
    """The start of the UTC day and of the UTC calendar month containing ``now``."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return {"day": day, "month": day.replace(day=1)}


def next_period(period: str, now: datetime) -> datetime:
    """When the current ``period`` ends."""
    start = period_starts(now)[period]
    if period == "day":
        return start + timedelta(days=1)
    return (start + timedelta(days=32)).replace(day=1)


def batch_usage(
    session: Any, now: datetime, history_days: float = 30
) -> dict[tuple[str, str, str], Usage]:
    """One grouped query over batches: in flight (count, estimated input tokens), last admitted,
    output tokens of applied batches over ``history_days``, and committed spend this day/month,
    by (company, model, processing type)."""
    b = AIBatchRequest
    starts = period_starts(now)
    since = min(starts["month"], now - timedelta(days=history_days))
    admitted = b.admitted_at.is_not(None)
    inflight = or_(b.status.in_(INFLIGHT), and_(b.status == BatchStatus.PLANNED.value, admitted))
    cost = case(
        (b.applied_at.is_not(None), func.coalesce(b.actual_cost_usd, b.estimated_cost_usd)),
        else_=b.estimated_cost_usd,
    )
    counted = and_(admitted, b.status != BatchStatus.ABANDONED.value)
    history = and_(
        b.applied_at.is_not(None),
        b.admitted_at >= now - timedelta(days=history_days),
        b.actual_output_tokens > 0,
    )

    def total(condition: Any, value: Any) -> Any:
        return func.coalesce(func.sum(case((condition, value), else_=literal(0))), 0)

    rows = session.execute(
        select(
            b.company_id,
            b.model,
            b.processing_type,
            total(inflight, 1),
            total(inflight, b.estimated_input_tokens),
            func.max(b.admitted_at),
            total(history, b.actual_output_tokens),
            total(history, b.request_count),
            total(and_(counted, b.admitted_at >= starts["day"]), cost),
            total(and_(counted, b.admitted_at >= starts["month"]), cost),
        )
        .where(or_(b.status.in_(INFLIGHT), b.admitted_at >= since, inflight))
        .group_by(b.company_id, b.model, b.processing_type)
    ).all()
    out: dict[tuple[str, str, str], Usage] = {}
    for cid, model, ptype, n, tokens, last, hist_out, hist_req, day, month in rows:
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        out[(cid, model, ptype)] = Usage(
            int(n),
            int(tokens),
            last,
            int(hist_out),
            int(hist_req),
            {"day": float(day), "month": float(month)},
        )
    return out


def committed(usage: dict[tuple[str, str, str], Usage]) -> dict[tuple[str, str], float]:
    """Committed spend by (scope, period): per company and overall (``*``)."""
    out: dict[tuple[str, str], float] = defaultdict(float)
    for (cid, _, _), use in usage.items():
        for period in PERIODS:
            out[(cid, period)] += use.spend[period]
            out[("*", period)] += use.spend[period]
    return out


def holds(session: Any) -> dict[str, tuple[float, str, datetime]]:
    """Every recorded hold: scope to (need, reason, since)."""
    rows = session.execute(
        select(BudgetHold.scope, BudgetHold.need, BudgetHold.reason, BudgetHold.held_at)
    )
    return {scope: (float(need), reason, at) for scope, need, reason, at in rows}


def budget_status(conn: Any, settings: Any, company: str | None, now: datetime) -> dict[str, Any]:
    """The snapshot's ``budgets`` section: each budget with its committed spend, and the holds."""
    budgets = Budgets.from_settings(settings)
    spent = committed(batch_usage(conn, now))
    scopes = sorted({cid for cid, _ in spent if cid != "*"} | set(budgets.companies))
    rules = list(budgets.overall) if company is None else []
    for cid in [company] if company is not None else scopes:
        rules += [r for r in budgets.for_company(cid) if r.scope != "*"]
    rows = []
    for rule in rules:
        used = spent.get((rule.scope, rule.period), 0.0)
        state = "ok"
        if used + EPSILON >= rule.limit_usd:
            state = "exhausted"
        elif used >= rule.limit_usd * budgets.warn_fraction:
            state = "warning"
        rows.append(
            {
                "scope": rule.scope,
                "period": rule.period,
                "limit_usd": rule.limit_usd,
                "committed_usd": used,
                "remaining_usd": max(0.0, rule.limit_usd - used),
                "state": state,
                "resets_at": next_period(rule.period, now).isoformat(),
            }
        )
    waiting = []
    for scope, (need, reason, since) in sorted(holds(conn).items()):
        if company is not None and scope != f"company:{company}":
            continue
        at = since if since.tzinfo else since.replace(tzinfo=UTC)
        waiting.append({"scope": scope, "need": need, "reason": reason, "since": at.isoformat()})
    return {"budgets": rows, "holds": waiting, "warn_fraction": budgets.warn_fraction}
