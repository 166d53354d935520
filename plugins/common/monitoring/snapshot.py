"""The monitoring snapshot behind ``batchkernel status`` and ``serve``: measured figures only.

Counts come from set-based queries on the database (:mod:`plugins.common.monitoring.queries`);
timings and the plugins' own sections come from the ``scheduler_instances`` rows each running
scheduler writes after every task (its plugins' ``collect_status`` output), so a separate process
sees what the scheduler really did, not what this process happens to hold. Each plugin section
of the live instances is merged by the plugin that owns it (``merge_status``); a section nobody
wrote is absent ("no data"), never a made-up zero. Every part is bounded whatever the number of
companies: one page of companies ranked in SQL, an "other" aggregate for the rest.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from kernel.api import KernelAPI
from kernel.types import BatchStatus
from plugins.common.budgets import Budgets, budget_status, holds
from plugins.common.monitoring.queries import (
    COMPANY_ID_LENGTH,
    BatchGroup,
    CompanyRank,
    MonitorReader,
    batch_groups,
    batch_groups_of,
    company_count,
    company_page,
    first_pending,
    instances,
    request_totals,
    throughput,
)
from plugins.common.operations.audit import recent as recent_actions
from plugins.common.schema.statuses import IN_FLIGHT_BATCH_STATUSES, RequestStatus

log = logging.getLogger("batchkernel.status")

REQUEST_STATES = tuple(s.value for s in RequestStatus)
BATCH_STATES = tuple(s.value for s in BatchStatus)
DEFAULT_TOP_COMPANIES = 20
OTHER = "__other__"
BUDGET_RANK = {"exhausted": 2, "warning": 1, "ok": 0}
SHARED_BUDGET_REASON = (
    "waiting: a budget shared by all companies has no room for this company's next batch; "
    "it goes on when that budget has room"
)
RECENT_ACTIONS = 10
LIVE_BATCH_STATUSES = IN_FLIGHT_BATCH_STATUSES | {BatchStatus.PLANNED}
"""Batches whose members are in flight: planned, or not ended at the provider."""
UNSENT_BATCH_STATUSES = frozenset({BatchStatus.PLANNED, BatchStatus.ABANDONED})
"""Batches whose requests never reached the provider (yet)."""
PROVIDER_SUMS = {
    "completed": "completed",
    "failed": "failed",
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
}
"""The provider section's sums over its batches, and the batch group field each adds up."""
CORE_KEYS = frozenset(
    {
        "generated_at",
        "audit",
        "scope",
        "requests",
        "batches",
        "usage",
        "oldest_pending",
        "company_count",
        "companies",
        "companies_page",
        "other",
        "providers",
        "throughput",
        "budgets",
        "scheduler",
        "last_cycle",
        "tasks",
        "plugin_sections",
    }
)
"""The snapshot's own parts; a plugin section may not replace one."""
TASK_INTERVAL_KEYS = (
    "create_interval_seconds",
    "poll_interval_seconds",
    "apply_interval_seconds",
    "retry_interval_seconds",
    "reconcile_interval_seconds",
)


def live_after_seconds(settings: Any) -> float:
    """An instance is live if it beat within three of its shortest task intervals (at least 30 s)."""
    scheduler = settings.get("scheduler") or {}
    intervals = [float(scheduler.get(key, 60)) for key in TASK_INTERVAL_KEYS]
    return max(30.0, 3 * min(intervals))


def _iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC text, or ``None``."""
    return value.astimezone(UTC).isoformat() if value is not None else None


def _states(counts: dict[str, int], states: tuple[str, ...]) -> dict[str, int]:
    """Every known state with its count (zeros included, so readers need no defaults)."""
    return {state: int(counts.get(state, 0)) for state in states}


def _company_row(rank: CompanyRank, now: datetime) -> dict[str, Any]:
    """A company's row, before its batches are filled in."""
    return {
        "id": rank.company_id,
        "name": rank.name,
        "status": rank.status,
        "requests": _states(rank.requests, REQUEST_STATES),
        "batches": _states({}, BATCH_STATES),
        "oldest_pending_age_seconds": None
        if rank.oldest_pending is None
        else max(0.0, (now - rank.oldest_pending).total_seconds()),
        "input_tokens": rank.input_tokens,
        "output_tokens": rank.output_tokens,
        "cost_usd": rank.cost_usd,
    }


def _companies(
    conn: Any, company: str | None, page: int, page_size: int, now: datetime
) -> dict[str, Any]:
    """One page of company rows (ranked in SQL), the totals, and "other" for everyone else.

    Every query returns a bounded number of rows: totals by state, ``page_size`` ranked
    companies, and the batches of those companies only.
    """
    requests = request_totals(conn, company)
    groups = batch_groups(conn, company)
    batches: dict[str, int] = {}
    for group in groups:
        batches[group.status] = batches.get(group.status, 0) + group.batches
    first = first_pending(conn, company)
    count = company_count(conn) if company is None else None
    offset = (page - 1) * page_size
    ranks = company_page(conn, offset=offset, limit=page_size, company=company)
    rows = [_company_row(rank, now) for rank in ranks]
    by_id = {row["id"]: row for row in rows}
    for cid, status, n in batch_groups_of(conn, list(by_id)):
        by_id[cid]["batches"][status] = n
    totals = {
        "requests": {
            "total": sum(requests.by_state.values()),
            "by_state": _states(requests.by_state, REQUEST_STATES),
        },
        "batches": {"total": sum(batches.values()), "by_state": _states(batches, BATCH_STATES)},
        "usage": {
            "input_tokens": requests.input_tokens,
            "output_tokens": requests.output_tokens,
            "cost_usd": requests.cost_usd,
        },
    }
    total = len(rows) if count is None else count
    return {
        **totals,
        "oldest_pending": {
            "company_id": first[0],
            "requested_at": _iso(first[1]),
            "age_seconds": max(0.0, (now - first[1]).total_seconds()),
        }
        if first
        else None,
        "company_count": total,
        "companies": rows,
        "companies_page": {
            "page": page,
            "page_size": page_size,
            "pages": max(1, -(-total // page_size)),
            "total": total,
            "order": "backlog (pending + in flight) descending, then cost descending, then id",
        },
        "other": _other(totals, rows, total) if company is None else None,
        "providers": _providers(groups),
    }


def _providers(groups: list[BatchGroup]) -> list[dict[str, Any]]:
    """Per provider: its batches by state, the requests in its live batches and in those that
    reached it, what it reported completed and failed, and the tokens and cost applied."""
    out: dict[str, dict[str, Any]] = {}
    for group in groups:
        row = out.setdefault(
            group.provider,
            {
                "provider": group.provider,
                "batches": {},
                "requests_in_flight": 0,
                "requests_sent": 0,
                **dict.fromkeys(PROVIDER_SUMS, 0),
                "cost_usd": 0.0,
            },
        )
        row["batches"][group.status] = group.batches
        if group.status in LIVE_BATCH_STATUSES:
            row["requests_in_flight"] += group.requests
        if group.status not in UNSENT_BATCH_STATUSES:
            row["requests_sent"] += group.requests
        for name in PROVIDER_SUMS:
            row[name] += getattr(group, PROVIDER_SUMS[name])
        row["cost_usd"] += group.cost_usd
    return [out[name] for name in sorted(out)]


def _other(totals: dict[str, Any], rows: list[dict[str, Any]], total: int) -> dict[str, Any] | None:
    """Everyone not on the page as one aggregate: the totals minus the page's rows."""
    if total <= len(rows):
        return None
    requests = dict(totals["requests"]["by_state"])
    batches = dict(totals["batches"]["by_state"])
    usage = dict(totals["usage"])
    for row in rows:
        for state, n in row["requests"].items():
            requests[state] -= n
        for state, n in row["batches"].items():
            batches[state] -= n
        for key in usage:
            usage[key] -= row[key]
    return {
        "id": OTHER,
        "companies": total - len(rows),
        "requests": requests,
        "batches": batches,
        "input_tokens": usage["input_tokens"],
        "output_tokens": usage["output_tokens"],
        "cost_usd": max(0.0, usage["cost_usd"]),
    }


def company_id_problem(value: str) -> str | None:
    """Why ``value`` cannot be a company id (NUL or control characters, too long), or None."""
    if not value:
        return "company must not be empty"
    if len(value) > COMPANY_ID_LENGTH:
        return f"company must be at most {COMPANY_ID_LENGTH} characters"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "company must not contain NUL or other control characters"
    return None


def top_companies(settings: Any) -> int:
    """How many companies a snapshot shows by default (``serve.top_companies``)."""
    return int((settings.get("serve") or {}).get("top_companies", DEFAULT_TOP_COMPANIES))


def _budget_section(conn: Any, settings: Any, company: str | None, now: datetime) -> dict[str, Any]:
    """Budgets with their committed spend, and the holds. With no budget configured there is no
    spend to read (that read groups every company's batches): only the holds are listed."""
    budgets = Budgets.from_settings(settings)
    if budgets.any:
        return budget_status(conn, settings, company, now)
    waiting = []
    for scope, (need, reason, since) in sorted(holds(conn).items()):
        if company is None or scope == f"company:{company}":
            at = since if since.tzinfo else since.replace(tzinfo=UTC)
            waiting.append(
                {"scope": scope, "need": need, "reason": reason, "since": at.isoformat()}
            )
    return {"budgets": [], "holds": waiting, "warn_fraction": budgets.warn_fraction}


def _bounded_budgets(section: dict[str, Any], limit: int, scoped: str | None) -> dict[str, Any]:
    """At most ``limit`` budget rows (overall first, then the most used) and ``limit`` holds.

    For a company-scoped reader (``scoped``), a hold caused by a budget shared by all companies
    keeps its scope but not its figures: other tenants' spend is not shown.
    """
    rows = section.get("budgets", [])
    ranked = sorted(
        rows,
        key=lambda r: (
            r["scope"] != "*",
            -BUDGET_RANK.get(r["state"], 0),
            -(r["committed_usd"] / r["limit_usd"] if r["limit_usd"] else 0.0),
            r["scope"],
            r["period"],
        ),
    )
    holds = sorted(section.get("holds", []), key=lambda h: (h["since"], h["scope"]))
    if scoped is not None:
        own = f"waiting: company {scoped} "
        holds = [
            hold if hold["reason"].startswith(own) else dict(hold, reason=SHARED_BUDGET_REASON)
            for hold in holds
        ]
    states: dict[str, int] = {}
    for row in rows:
        states[row["state"]] = states.get(row["state"], 0) + 1
    return {
        **section,
        "budgets": ranked[:limit],
        "holds": holds[:limit],
        "budgets_total": len(rows),
        "budgets_by_state": states,
        "holds_total": len(holds),
    }


def _plugin_sections(sources: list[dict[str, Any]], kernel: KernelAPI) -> dict[str, Any]:
    """Every section the plugins of these instances reported (newest instance first), each
    merged by its owner (``merge_status``; unanswered, the newest instance's part). A section
    named like a core part of the snapshot is left out."""
    names: dict[str, None] = {}
    for row in sources:
        names.update(dict.fromkeys(row["plugin_status"]))
    sections: dict[str, Any] = {}
    for name in sorted(names):
        if name in CORE_KEYS:
            log.warning(
                "status section %r of a plugin clashes with the snapshot's own; left out", name
            )
            continue
        parts = [r["plugin_status"][name] for r in sources if r["plugin_status"].get(name)]
        if parts:
            merged = kernel.pm.hook.merge_status(kernel=kernel, section=name, parts=parts)
            sections[name] = parts[0] if merged is None else merged
    return sections


def _scheduler(
    rows: list[dict[str, Any]], now: datetime, live_after: float, kernel: KernelAPI
) -> dict[str, Any]:
    """Instances, the last cycle and task runs, and the merged plugin sections."""
    described = []
    for row in rows:
        age = (now - row["heartbeat_at"]).total_seconds() if row["heartbeat_at"] else None
        live = row["stopped_at"] is None and age is not None and age <= live_after
        described.append(
            {
                "id": row["id"],
                "host": row["host"],
                "pid": row["pid"],
                "started_at": _iso(row["started_at"]),
                "heartbeat_at": _iso(row["heartbeat_at"]),
                "stopped_at": _iso(row["stopped_at"]),
                "heartbeat_age_seconds": age,
                "live": live,
                "plugin_status": row["plugin_status"],
            }
        )
    sources = [row for row, info in zip(rows, described, strict=True) if info["live"]]
    if not sources and rows:
        sources = rows[:1]
    newest = sources[0] if sources else None
    tasks = dict(newest["tasks"]) if newest else {}
    cycle = tasks.pop("cycle", None)
    sections = _plugin_sections(sources, kernel)
    return {
        "scheduler": {
            "instances": described,
            "live": sum(1 for info in described if info["live"]),
            "live_after_seconds": live_after,
            "source": [row["id"] for row in sources],
        },
        "last_cycle": dict(cycle, instance=newest["id"]) if cycle and newest else None,
        "tasks": tasks or None,
        "plugin_sections": list(sections),
        **sections,
    }


def build_snapshot(
    reader: MonitorReader,
    kernel: KernelAPI,
    *,
    company: str | None = None,
    include_global: bool = True,
    throughput_minutes: int = 60,
    page: int = 1,
    page_size: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The snapshot as plain JSON-ready data, bounded whatever the number of companies.

    ``companies`` is one page of the companies ranked by backlog then cost (``page_size``,
    default ``serve.top_companies``) and ``other`` sums everyone else; ``company`` gives that
    one company's detail instead. ``include_global=False`` (a company-scoped token) leaves out
    the instance-wide sections: scheduler instances, task timings, the plugins' sections (named
    in ``plugin_sections``, each merged over the live instances by the ``merge_status`` hook), and
    the figures of budgets shared by all companies.
    """
    settings = kernel.settings
    now = now or datetime.now(UTC)
    size = page_size or top_companies(settings)
    with reader.connect() as conn:
        per_company = _companies(conn, company, page, size, now)
        buckets = throughput(
            conn, reader.dialect, minutes=throughput_minutes, company=company, now=now
        )
        rows = instances(conn) if include_global else []
        budgets = _budget_section(conn, settings, company, now)
        actions = recent_actions(conn, company=company, limit=RECENT_ACTIONS)
    snapshot: dict[str, Any] = {
        "generated_at": _iso(now),
        "scope": {"company": company, "global_sections": include_global},
        **per_company,
        "throughput": {"minutes": throughput_minutes, "buckets": buckets},
        "budgets": _bounded_budgets(budgets, size, None if include_global else company),
        "audit": actions,
    }
    if include_global:
        snapshot.update(_scheduler(rows, now, live_after_seconds(settings), kernel))
    return snapshot
