"""Routing: each company's new batches go to the first provider of its list that takes them now.

A company's list is its own (``Company.providers``, set with ``companies set-provider``) or
``routing.providers`` (``plugins.provider`` alone when unset). A provider is passed over while
its ``provider_health`` is not ok (quota spent, create circuit open, settings missing) or while
the input tokens of its batches in flight reach ``routing.max_enqueued_tokens``; once it is ok
again (its cool-down over) new batches go back to it, which is the probe. Batches already at a
provider always finish there, and a request is claimed into one batch at a time, so it is never
in flight at two providers at once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.types import BatchStatus, Company
from plugins.common.hookspecs import HealthCheck
from plugins.common.schema.models import AIBatchRequest
from plugins.common.schema.statuses import IN_FLIGHT_BATCH_STATUSES
from plugins.routing.settings_spec import listed_providers

FAILOVER = "batchkernel.provider.failover"
"""Counter: companies whose new batches moved to a provider other than their first (labels
``from``, ``to``, ``reason``)."""
ENQUEUED = "enqueued_tokens"
"""The reason a provider is passed over when its in-flight tokens reach its limit."""
UNCONFIGURED = "not_configured"
"""The reason a company's provider is passed over when it is not a configured provider."""
HOLDING = frozenset({BatchStatus.PLANNED, *IN_FLIGHT_BATCH_STATUSES})
"""Batch states whose tokens count against a provider's enqueued-token limit."""


@dataclass(frozen=True, slots=True)
class Passed:
    """A provider passed over: why (a health condition, ``enqueued_tokens``, ``not_configured``),
    until when if known, and the detail."""

    provider: str
    reason: str
    until: datetime | None = None
    detail: str = ""

    def describe(self) -> str:
        """``openai quota until 12:05 UTC``."""
        until = f" until {self.until:%H:%M} UTC" if self.until else ""
        return f"{self.provider} {self.reason}{until}"


@dataclass(frozen=True, slots=True)
class Route:
    """Where the new batches of companies with one provider list go, and what was passed over."""

    providers: tuple[str, ...]
    chosen: str | None
    passed: tuple[Passed, ...] = ()

    @property
    def failed_over(self) -> bool:
        """Whether the batches go elsewhere than the list's first provider."""
        return self.chosen != self.providers[0]

    def line(self) -> str:
        """``openai quota until 12:05 UTC -> anthropic``; ``openai`` when nothing is passed over;
        ``-> none`` when no provider of the list takes batches."""
        steps = [passed.describe() for passed in self.passed]
        if not steps:
            return str(self.chosen)
        return f"{', '.join(steps)} -> {self.chosen or 'none (requests wait)'}"


def routes_for(
    lists: Sequence[tuple[str, ...]],
    configured: Sequence[str],
    health: Mapping[str, Any],
    inflight: Mapping[str, int],
    limits: Mapping[str, int],
) -> dict[tuple[str, ...], Route]:
    """The route of each provider list: its first provider that is configured, healthy and
    under its enqueued-token limit."""
    routes: dict[tuple[str, ...], Route] = {}
    for providers in lists:
        passed: list[Passed] = []
        chosen = None
        for name in providers:
            state = health.get(name)
            limit = int(limits.get(name, 0) or 0)
            if name not in configured or state is None:
                passed.append(Passed(name, UNCONFIGURED, None, "not in routing.providers"))
            elif state.condition != "ok":
                passed.append(Passed(name, state.condition, state.until, state.reason))
            elif limit and inflight.get(name, 0) >= limit:
                detail = f"{inflight.get(name, 0)} tokens in flight, limit {limit}"
                passed.append(Passed(name, ENQUEUED, None, detail))
            else:
                chosen = name
                break
        routes[providers] = Route(providers, chosen, tuple(passed))
    return routes


def inflight_tokens(kernel: KernelAPI, providers: Sequence[str]) -> dict[str, int]:
    """Estimated input tokens of the batches planned or in flight at each provider, one query."""
    batch = AIBatchRequest
    with kernel.db.read_transaction() as session:
        rows = session.execute(
            select(batch.provider, func.coalesce(func.sum(batch.estimated_input_tokens), 0))
            .where(
                batch.provider.in_(list(providers)),
                batch.status.in_([status.value for status in HOLDING]),
            )
            .group_by(batch.provider)
        ).all()
    return {str(provider): int(tokens) for provider, tokens in rows}


class RoutingPlugin:
    """Plugin ``routing``: answers ``configured_providers`` and ``route_companies``, and reports
    failovers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[tuple[str, ...], Route] = {}
        self._company_routes: dict[str, str | None] = {}
        self._latest: set[tuple[str, ...]] = set()

    @hookimpl
    def configured_providers(self, kernel: KernelAPI) -> list[str] | None:
        """``routing.providers`` when it lists any (unanswered: ``plugins.provider`` alone)."""
        return listed_providers(kernel.settings.routing) or None

    @hookimpl
    def route_companies(self, kernel: KernelAPI, companies: Sequence[Company]) -> dict[str, str]:
        """Each company to the first provider of its list that takes new batches now; a company
        whose every provider is passed over is left out (its requests wait)."""
        default = tuple(kernel.providers())
        configured = list(dict.fromkeys([*default, str(kernel.settings.plugins.provider)]))
        lists = {company.id: tuple(company.providers) or default for company in companies}
        names = list(dict.fromkeys(name for names in lists.values() for name in names))
        health = {name: kernel.provider_health(name) for name in names if name in configured}
        limits = {
            str(name): int(limit)
            for name, limit in (kernel.settings.routing.max_enqueued_tokens or {}).items()
        }
        limited = [name for name in names if limits.get(name)]
        inflight = inflight_tokens(kernel, limited) if limited else {}
        routes = routes_for(
            list(dict.fromkeys(lists.values())), configured, health, inflight, limits
        )
        self._report(kernel, routes, lists)
        return {
            company_id: chosen
            for company_id, providers in lists.items()
            if (chosen := routes[providers].chosen) is not None
        }

    def _report(
        self,
        kernel: KernelAPI,
        routes: Mapping[tuple[str, ...], Route],
        lists: Mapping[str, tuple[str, ...]],
    ) -> None:
        """One log line per changed route, and the failover counter per company newly routed
        away from its first provider."""
        with self._lock:
            previous = dict(self._routes)
            self._routes.update(routes)
            self._latest = set(routes)
            moved = []
            for company_id, providers in lists.items():
                route = routes[providers]
                before = self._company_routes.get(company_id, providers[0])
                self._company_routes[company_id] = route.chosen
                if route.failed_over and route.chosen is not None and before != route.chosen:
                    moved.append(route)
        for providers, route in routes.items():
            old = previous.get(providers)
            if (old.chosen if old else providers[0]) == route.chosen:
                continue
            listed = ", ".join(providers)
            if not route.failed_over:
                kernel.log.warning("routing [%s]: %s takes new batches again", listed, route.chosen)
            else:
                kernel.log.warning(
                    "routing [%s]: new batches go to %s (%s)",
                    listed,
                    route.chosen or "no provider: requests wait",
                    "; ".join(f"{p.describe()}: {p.detail}" for p in route.passed),
                )
        for route in moved:
            labels: dict[str, Any] = {
                "from": route.providers[0],
                "to": route.chosen,
                "reason": route.passed[0].reason,
            }
            kernel.metric(FAILOVER, 1, kind="counter", **labels)

    @hookimpl
    def collect_status(self, kernel: KernelAPI) -> dict[str, Any]:
        """The ``routing`` section: per provider list, where new batches go and why
        (``openai quota until 12:05 UTC -> anthropic``) for the lists of the latest routing and
        ``routing.providers``; nothing before the first routing."""
        shown = {tuple(kernel.providers())}
        with self._lock:
            shown |= self._latest
            routes = {key: route for key, route in self._routes.items() if key in shown}
        if not routes:
            return {}
        return {
            "routing": {", ".join(providers): route.line() for providers, route in routes.items()}
        }

    @hookimpl
    def describe_setup(self, kernel: KernelAPI) -> dict[str, str]:
        """The banner's routing line when batches may fail over to another provider."""
        providers = kernel.providers()
        if len(providers) < 2:
            return {}
        return {"routing": f"{providers[0]}, failover to {', '.join(providers[1:])}"}

    @hookimpl
    def health_checks(self, kernel: KernelAPI, remote: bool) -> list[HealthCheck]:
        """With several providers configured, each one's settings (a failover target without a
        key only warns: new batches still go to the others)."""
        providers = kernel.providers()
        if len(providers) < 2:
            return []
        checks = []
        for name in providers:
            health = kernel.provider_health(name)
            ok = health.condition != "config"
            checks.append(
                HealthCheck(
                    f"routing provider {name}",
                    ok,
                    f"{name} settings are complete" if ok else health.reason,
                    "" if ok else f"fix the {name} settings or drop it from routing.providers",
                    blocking=False,
                )
            )
        return checks
