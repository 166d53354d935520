"""The monitoring snapshot behind ``batchkernel status`` and ``serve``: measured figures only.

Counts come from set-based queries on the database (:mod:`kernel.db.monitoring`); timings, cache,
fallback and circuit-breaker figures come from the ``scheduler_instances`` rows each running
scheduler writes after every task (its ``collect_status`` output), so a separate process sees
what the scheduler really did (the original route's B-22). A section nobody wrote is ``None``
("no data"), never a made-up zero.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kernel.budgets import budget_status
from kernel.db.monitoring import (
    MonitorReader,
    batch_groups,
    company_names,
    instances,
    oldest_pending,
    request_groups,
    throughput,
)
from kernel.types import BatchStatus, RequestStatus

REQUEST_STATES = tuple(s.value for s in RequestStatus)
BATCH_STATES = tuple(s.value for s in BatchStatus)
PLUGIN_SECTIONS = ("cache", "fallback", "breakers")
BREAKER_RANK = {"closed": 0, "half_open": 1, "open": 2}
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


def _companies(conn: Any, company: str | None, now: datetime) -> dict[str, Any]:
    """Per-company requests, batches, oldest pending, tokens and cost, plus the overall totals."""
    names = company_names(conn, company)
    rows: dict[str, dict[str, Any]] = {}

    def entry(cid: str) -> dict[str, Any]:
        name, status = names.get(cid, (cid, "UNKNOWN"))
        return rows.setdefault(
            cid,
            {
                "id": cid,
                "name": name,
                "status": status,
                "requests": {},
                "batches": {},
                "oldest_pending_age_seconds": None,
                "input_tokens": 0,
                "output_tokens": 0,
                "cost_usd": 0.0,
            },
        )

    for cid in names:
        entry(cid)
    for group in request_groups(conn, company):
        row = entry(group.company_id)
        row["requests"][group.status] = group.count
        row["input_tokens"] += group.input_tokens
        row["output_tokens"] += group.output_tokens
        row["cost_usd"] += group.cost_usd
    for cid, status, count in batch_groups(conn, company):
        entry(cid)["batches"][status] = count
    oldest = oldest_pending(conn, company)
    for cid, requested_at in oldest.items():
        entry(cid)["oldest_pending_age_seconds"] = max(0.0, (now - requested_at).total_seconds())
    for row in rows.values():
        row["requests"] = _states(row["requests"], REQUEST_STATES)
        row["batches"] = _states(row["batches"], BATCH_STATES)
    first = min(oldest.items(), key=lambda item: item[1]) if oldest else None
    return {
        "companies": [rows[cid] for cid in sorted(rows)],
        "oldest_pending": {
            "company_id": first[0],
            "requested_at": _iso(first[1]),
            "age_seconds": max(0.0, (now - first[1]).total_seconds()),
        }
        if first
        else None,
    }


def _totals(companies: list[dict[str, Any]]) -> dict[str, Any]:
    """Requests and batches by state, tokens and cost summed over the companies."""
    requests = dict.fromkeys(REQUEST_STATES, 0)
    batches = dict.fromkeys(BATCH_STATES, 0)
    usage = {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
    for row in companies:
        for state, count in row["requests"].items():
            requests[state] += count
        for state, count in row["batches"].items():
            batches[state] += count
        for key in usage:
            usage[key] += row[key]
    return {
        "requests": {"total": sum(requests.values()), "by_state": requests},
        "batches": {"total": sum(batches.values()), "by_state": batches},
        "usage": usage,
    }


def _merge_cache(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum hits, misses and refreshes over instances and recompute the hit rate from them."""
    merged = dict(parts[0])
    if all(isinstance(p.get("hits"), int | float) for p in parts) and all(
        isinstance(p.get("misses"), int | float) for p in parts
    ):
        hits = sum(p["hits"] for p in parts)
        misses = sum(p["misses"] for p in parts)
        merged.update(hits=hits, misses=misses)
        merged["hit_rate"] = hits / (hits + misses) if hits + misses else None
    for key in ("refreshes", "database_reads", "coalesced", "invalidations", "errors"):
        if all(isinstance(p.get(key), int | float) for p in parts):
            merged[key] = sum(p[key] for p in parts)
    backends = sorted({str(p["backend"]) for p in parts if p.get("backend") is not None})
    if backends:
        merged["backend"] = ", ".join(backends)
    return merged


def _merge_fallback(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum event counts (a number, or numbers per operation); choices from the newest instance."""
    merged = dict(parts[0])
    events = [p.get("events") for p in parts]
    if all(isinstance(e, int | float) for e in events):
        merged["events"] = sum(events)  # type: ignore[arg-type]
    elif all(isinstance(e, dict) for e in events):
        total: dict[str, float] = {}
        for part in events:
            for key, value in part.items():  # type: ignore[union-attr]
                if isinstance(value, int | float):
                    total[key] = total.get(key, 0) + value
        merged["events"] = total
    return merged


def _merge_breakers(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Per operation, the worst state any instance reports (open > half-open > closed)."""
    merged: dict[str, Any] = {}
    for part in parts:
        for operation, info in part.items():
            if not isinstance(info, dict):
                continue
            current = merged.get(operation)
            rank = BREAKER_RANK.get(str(info.get("state")), -1)
            if current is None or rank > BREAKER_RANK.get(str(current.get("state")), -1):
                merged[operation] = dict(info)
    return merged


MERGERS = {"cache": _merge_cache, "fallback": _merge_fallback, "breakers": _merge_breakers}


def _scheduler(rows: list[dict[str, Any]], now: datetime, live_after: float) -> dict[str, Any]:
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
    sections: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for name in PLUGIN_SECTIONS:
        parts = [r["plugin_status"][name] for r in sources if r["plugin_status"].get(name)]
        parts = [p for p in parts if isinstance(p, dict)]
        sections[name] = MERGERS[name](parts) if parts else None
    for row in reversed(sources):
        for name, value in row["plugin_status"].items():
            if name not in PLUGIN_SECTIONS:
                others[name] = value
    return {
        "scheduler": {
            "instances": described,
            "live": sum(1 for info in described if info["live"]),
            "live_after_seconds": live_after,
            "source": [row["id"] for row in sources],
        },
        "last_cycle": dict(cycle, instance=newest["id"]) if cycle and newest else None,
        "tasks": tasks or None,
        **sections,
        "plugins": others,
    }


def build_snapshot(
    reader: MonitorReader,
    settings: Any,
    *,
    company: str | None = None,
    include_global: bool = True,
    throughput_minutes: int = 60,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The whole snapshot as plain JSON-ready data; ``company`` scopes the per-tenant parts.

    ``include_global=False`` (a company-scoped token) leaves out the instance-wide sections:
    scheduler instances, task timings, cache, fallback, breakers and other plugin status.
    """
    now = now or datetime.now(UTC)
    with reader.connect() as conn:
        per_company = _companies(conn, company, now)
        buckets = throughput(
            conn, reader.dialect, minutes=throughput_minutes, company=company, now=now
        )
        rows = instances(conn) if include_global else []
        budgets = budget_status(conn, settings, company, now)
    snapshot: dict[str, Any] = {
        "generated_at": _iso(now),
        "scope": {"company": company, "global_sections": include_global},
        **_totals(per_company["companies"]),
        "oldest_pending": per_company["oldest_pending"],
        "companies": per_company["companies"],
        "throughput": {"minutes": throughput_minutes, "buckets": buckets},
        "budgets": budgets,
    }
    if include_global:
        snapshot.update(_scheduler(rows, now, live_after_seconds(settings)))
    return snapshot
