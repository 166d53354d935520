"""The snapshot as CSV (one row per company) and as Prometheus exposition text."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from plugins.common.csvcells import SafeWriter
from plugins.common.monitoring.snapshot import BATCH_STATES, REQUEST_STATES

BREAKER_VALUE = {"closed": 0.0, "half_open": 0.5, "open": 1.0}
PROVIDER_REQUESTS = {
    "in_flight": "requests_in_flight",
    "sent": "requests_sent",
    "completed": "completed",
    "failed": "failed",
}
"""The ``state`` label of ``batchkernel_provider_requests`` and the snapshot field it reads."""


def snapshot_csv(snapshot: dict[str, Any]) -> bytes:
    """One row per company on the snapshot's page, then one ``__other__`` row for the rest.

    Requests and batches by state, oldest pending age, tokens, cost. Ids and names that start
    like a spreadsheet formula are neutralised (:mod:`plugins.common.csvcells`).
    """
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(
        [
            "company_id",
            "company_name",
            "company_status",
            *(f"requests_{s.lower()}" for s in REQUEST_STATES),
            *(f"batches_{s.lower()}" for s in BATCH_STATES),
            "oldest_pending_age_seconds",
            "input_tokens",
            "output_tokens",
            "cost_usd",
        ]
    )
    for row in _rows(snapshot):
        age = row["oldest_pending_age_seconds"]
        writer.writerow(
            [
                row["id"],
                row["name"],
                row["status"],
                *(row["requests"][s] for s in REQUEST_STATES),
                *(row["batches"][s] for s in BATCH_STATES),
                "" if age is None else f"{age:.3f}",
                row["input_tokens"],
                row["output_tokens"],
                f"{row['cost_usd']:.6f}",
            ]
        )
    return out.getvalue().encode()


def _rows(snapshot: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The page's company rows, then the ``other`` aggregate shaped like a row (if any)."""
    yield from snapshot["companies"]
    other = snapshot.get("other")
    if other:
        yield {
            **other,
            "name": f"{other['companies']} other companies",
            "status": "",
            "oldest_pending_age_seconds": None,
        }


class _SnapshotCollector:
    """A prometheus_client collector over one snapshot: per-company series for the snapshot's
    page of companies (the top ones) and ``company="__other__"`` for all the others."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        """Every family the snapshot has data for."""
        snap = self.snapshot
        requests = GaugeMetricFamily(
            "batchkernel_requests", "Requests by company and state", labels=["company", "state"]
        )
        batches = GaugeMetricFamily(
            "batchkernel_batches", "Batches by company and state", labels=["company", "state"]
        )
        oldest = GaugeMetricFamily(
            "batchkernel_requests_pending_oldest_age_seconds",
            "Age of the oldest pending request",
            labels=["company"],
        )
        tokens = CounterMetricFamily(
            "batchkernel_tokens", "Tokens of finished requests", labels=["company", "type"]
        )
        cost = CounterMetricFamily(
            "batchkernel_cost_usd", "Cost of finished requests (batch prices)", labels=["company"]
        )
        for row in _rows(snap):
            cid = row["id"]
            for state, count in row["requests"].items():
                requests.add_metric([cid, state], count)
            for state, count in row["batches"].items():
                batches.add_metric([cid, state], count)
            if row["oldest_pending_age_seconds"] is not None:
                oldest.add_metric([cid], row["oldest_pending_age_seconds"])
            tokens.add_metric([cid, "input"], row["input_tokens"])
            tokens.add_metric([cid, "output"], row["output_tokens"])
            cost.add_metric([cid], row["cost_usd"])
        yield from _provider_families(snap.get("providers") or [])
        companies = GaugeMetricFamily(
            "batchkernel_companies",
            "Companies in the database; per-company series cover the top ones, "
            'company="__other__" sums the rest',
            value=snap["company_count"],
        )
        yield from (requests, batches, oldest, tokens, cost, companies)
        if snap["scope"]["global_sections"]:
            yield from self._global(snap)

    @staticmethod
    def _global(snap: dict[str, Any]) -> Iterator[Metric]:
        """Scheduler, task, cache, fallback and breaker families (unscoped tokens only)."""
        live = GaugeMetricFamily("batchkernel_scheduler_instances_live", "Live scheduler instances")
        live.add_metric([], snap["scheduler"]["live"])
        yield live
        if snap.get("last_cycle"):
            cycle = snap["last_cycle"]
            yield GaugeMetricFamily(
                "batchkernel_cycle_duration_seconds",
                "Last cycle's duration",
                value=cycle["seconds"],
            )
            yield GaugeMetricFamily(
                "batchkernel_cycle_queries", "Last cycle's database queries", value=cycle["queries"]
            )
        if snap.get("tasks"):
            seconds = GaugeMetricFamily(
                "batchkernel_task_duration_seconds", "Last run's duration", labels=["task"]
            )
            queries = GaugeMetricFamily(
                "batchkernel_task_queries", "Last run's database queries", labels=["task"]
            )
            for task, report in snap["tasks"].items():
                seconds.add_metric([task], float(report.get("seconds", 0)))
                queries.add_metric([task], float(report.get("queries", 0)))
            yield from (seconds, queries)
        cache = snap.get("cache") or {}
        if isinstance(cache.get("hits"), int | float) and isinstance(
            cache.get("misses"), int | float
        ):
            lookups = CounterMetricFamily(
                "batchkernel_cache_lookups", "Cache lookups by result", labels=["result"]
            )
            lookups.add_metric(["hit"], cache["hits"])
            lookups.add_metric(["miss"], cache["misses"])
            yield lookups
        events = (snap.get("fallback") or {}).get("events")
        if isinstance(events, int | float):
            yield CounterMetricFamily(
                "batchkernel_fallback_events", "Fallback events", value=events
            )
        breakers = snap.get("breakers") or {}
        if breakers:
            state = GaugeMetricFamily(
                "batchkernel_provider_circuit_state",
                "Circuit breaker per operation: 0 closed, 0.5 half-open, 1 open",
                labels=["operation"],
            )
            for operation, info in breakers.items():
                if isinstance(info, dict) and info.get("state") in BREAKER_VALUE:
                    state.add_metric([operation], BREAKER_VALUE[info["state"]])
            yield state
        health = snap.get("provider_health") or {}
        if health:
            paused = GaugeMetricFamily(
                "batchkernel_provider_creation_paused",
                "1 while batch creation at a provider is paused (quota, billing), else 0",
                labels=["provider", "condition"],
            )
            for provider, info in health.items():
                if isinstance(info, dict):
                    condition = str(info.get("condition") or "ok")
                    paused.add_metric([provider, condition], 0.0 if condition == "ok" else 1.0)
            yield paused


def _provider_families(rows: list[dict[str, Any]]) -> Iterator[Metric]:
    """Batches by provider and state, the requests in each provider's batches (in flight, sent,
    completed and failed as it reported them), and the cost applied from them."""
    batches = GaugeMetricFamily(
        "batchkernel_provider_batches",
        "Batches by provider and state",
        labels=["provider", "state"],
    )
    requests = GaugeMetricFamily(
        "batchkernel_provider_requests",
        "Requests in a provider's batches: in_flight (live batches), sent (batches that reached "
        "it), completed and failed (as the provider reported them)",
        labels=["provider", "state"],
    )
    cost = CounterMetricFamily(
        "batchkernel_provider_cost_usd",
        "Cost applied from a provider's batches (batch prices)",
        labels=["provider"],
    )
    for row in rows:
        name = row["provider"]
        for state, count in row["batches"].items():
            batches.add_metric([name, state], count)
        for state, key in PROVIDER_REQUESTS.items():
            requests.add_metric([name, state], row[key])
        cost.add_metric([name], row["cost_usd"])
    yield from (batches, requests, cost)


def snapshot_prometheus(snapshot: dict[str, Any]) -> bytes:
    """The snapshot in the Prometheus text format (prometheus_client does the encoding)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snapshot))
    return generate_latest(registry)
