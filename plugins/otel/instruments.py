"""Metrics: kernel ``Metric`` records onto lazily created OTel instruments, plus observed gauges.

Observed instruments are read at collection time: requests and batches by state and the oldest
pending age from the database (set-based, on a separate read pool), and cache lookups, fallback
events and circuit-breaker states from the plugins' ``collect_status`` sections.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from kernel.api import KernelAPI
from kernel.types import Metric
from plugins.common.monitoring.queries import (
    MonitorReader,
    batch_groups,
    oldest_pending,
    request_groups,
)

log = logging.getLogger("batchkernel.otel")

REQUESTS = "batchkernel.requests"
BATCHES = "batchkernel.batches"
OLDEST_PENDING = "batchkernel.requests.pending.oldest_age"
CACHE_LOOKUPS = "batchkernel.cache.lookups"
FALLBACK_EVENTS = "batchkernel.fallback.events"
CIRCUIT_STATE = "batchkernel.provider.circuit.state"
OBSERVED = frozenset(
    {REQUESTS, BATCHES, OLDEST_PENDING, CACHE_LOOKUPS, FALLBACK_EVENTS, CIRCUIT_STATE}
)
"""Names this module observes itself; ``record_metric`` calls with these names are not re-mapped."""
BREAKER_VALUE = {"closed": 0.0, "half_open": 0.5, "open": 1.0}
CACHE_SECONDS = 1.0


class _Cached:
    """One value computed at most once per ``CACHE_SECONDS`` (callbacks of one collection share it)."""

    def __init__(self, compute: Callable[[], Any]) -> None:
        self.compute = compute
        self._lock = threading.Lock()
        self._at = 0.0
        self._value: Any = None

    def get(self) -> Any:
        """The cached value, recomputed when stale; ``None`` when computing fails."""
        with self._lock:
            if time.monotonic() - self._at > CACHE_SECONDS:
                try:
                    self._value = self.compute()
                except Exception as exc:
                    log.debug("telemetry: observation failed: %s", exc)
                    self._value = None
                self._at = time.monotonic()
            return self._value


class MetricBridge:
    """Maps kernel metrics onto OTel instruments and registers the observed ones."""

    def __init__(self, meter: Meter, kernel: KernelAPI) -> None:
        self.meter = meter
        self.kernel = kernel
        self._lock = threading.Lock()
        self._instruments: dict[str, tuple[str, Any]] = {}
        self._warned: set[str] = set()
        self._reader: MonitorReader | None = None
        self._db = _Cached(self._read_database)
        self._status = _Cached(kernel.collect_status)
        self._register_observed()

    def record(self, metric: Metric) -> None:
        """Record one kernel metric on its instrument (created on first use, by kind)."""
        if metric.name in OBSERVED:
            return
        instrument = self._instrument(metric)
        if instrument is None:
            return
        attributes = {str(k): _attribute(v) for k, v in metric.attributes.items()}
        if metric.kind == "counter":
            if metric.value < 0:
                return
            instrument.add(metric.value, attributes)
        elif metric.kind == "histogram":
            instrument.record(metric.value, attributes)
        else:
            instrument.set(metric.value, attributes)

    def _instrument(self, metric: Metric) -> Any:
        """The instrument of ``metric.name``; ``None`` if the name was used with another kind."""
        with self._lock:
            known = self._instruments.get(metric.name)
            if known is not None:
                kind, instrument = known
                if kind == metric.kind:
                    return instrument
                if metric.name not in self._warned:
                    self._warned.add(metric.name)
                    log.debug("metric %s sent as %s and %s", metric.name, kind, metric.kind)
                return None
            creators: dict[str, Callable[..., Any]] = {
                "counter": self.meter.create_counter,
                "histogram": self.meter.create_histogram,
                "gauge": self.meter.create_gauge,
            }
            instrument = creators[metric.kind](metric.name, unit=metric.unit)
            self._instruments[metric.name] = (metric.kind, instrument)
            return instrument

    def _read_database(self) -> dict[str, Any]:
        """Requests and batches by state and the oldest pending request, in three queries."""
        if self._reader is None:
            self._reader = MonitorReader.for_database(self.kernel.db)
        with self._reader.connect() as conn:
            requests: dict[str, int] = {}
            for group in request_groups(conn):
                requests[group.status] = requests.get(group.status, 0) + group.count
            batches: dict[tuple[str, str], int] = {}
            for batch in batch_groups(conn):
                batches[(batch.provider, batch.status)] = batch.batches
            oldest = oldest_pending(conn)
        age = (datetime.now(UTC) - min(oldest.values())).total_seconds() if oldest else 0.0
        return {"requests": requests, "batches": batches, "oldest_age": max(0.0, age)}

    def _register_observed(self) -> None:
        """Create the observable instruments and their callbacks."""
        meter = self.meter
        meter.create_observable_gauge(
            REQUESTS,
            [self._observe_states("requests", "batchkernel.request.state")],
            unit="{request}",
            description="AI processing requests by state (from the database)",
        )
        meter.create_observable_gauge(
            BATCHES,
            [self._observe_batches],
            unit="{batch}",
            description="Local batches by provider and state (from the database)",
        )
        meter.create_observable_gauge(
            OLDEST_PENDING,
            [self._observe_oldest],
            unit="s",
            description="Age of the oldest pending request",
        )
        meter.create_observable_counter(
            CACHE_LOOKUPS,
            [self._observe_cache],
            unit="{lookup}",
            description="Cache lookups by result (hit, miss)",
        )
        meter.create_observable_counter(
            FALLBACK_EVENTS,
            [self._observe_fallback],
            unit="{event}",
            description="Times the fallback plugin rescued a failed optimized call",
        )
        meter.create_observable_gauge(
            CIRCUIT_STATE,
            [self._observe_breakers],
            unit="1",
            description="Provider circuit breaker per operation: 0 closed, 0.5 half-open, 1 open",
        )

    def _observe_states(self, key: str, attribute: str) -> Callable[..., Iterable[Observation]]:
        """A callback reporting one count per state."""

        def callback(_options: CallbackOptions) -> Iterable[Observation]:
            data = self._db.get()
            if data is None:
                return []
            return [Observation(n, {attribute: state}) for state, n in data[key].items()]

        return callback

    def _observe_batches(self, _options: CallbackOptions) -> Iterable[Observation]:
        """One count per provider and batch state."""
        data = self._db.get()
        if data is None:
            return []
        return [
            Observation(n, {"batchkernel.batch.state": state, "provider": provider})
            for (provider, state), n in data["batches"].items()
        ]

    def _observe_oldest(self, _options: CallbackOptions) -> Iterable[Observation]:
        """The oldest pending request's age (0 when nothing is pending)."""
        data = self._db.get()
        return [] if data is None else [Observation(data["oldest_age"])]

    def _section(self, name: str) -> dict[str, Any] | None:
        """One ``collect_status`` section of this process, if a plugin provides it."""
        status = self._status.get() or {}
        section = status.get(name)
        return section if isinstance(section, dict) else None

    def _observe_cache(self, _options: CallbackOptions) -> Iterable[Observation]:
        """Cumulative hits and misses of the cache plugin."""
        section = self._section("cache")
        if section is None:
            return []
        return [
            Observation(section[key], {"batchkernel.cache.result": result})
            for key, result in (("hits", "hit"), ("misses", "miss"))
            if isinstance(section.get(key), int | float)
        ]

    def _observe_fallback(self, _options: CallbackOptions) -> Iterable[Observation]:
        """Cumulative fallback events (in all, or per operation)."""
        section = self._section("fallback")
        if section is None:
            return []
        events = section.get("events")
        if isinstance(events, int | float):
            return [Observation(events)]
        if isinstance(events, dict):
            return [
                Observation(v, {"batchkernel.operation": str(k)})
                for k, v in events.items()
                if isinstance(v, int | float)
            ]
        return []

    def _observe_breakers(self, _options: CallbackOptions) -> Iterable[Observation]:
        """Each provider operation's breaker state."""
        section = self._section("breakers") or {}
        return [
            Observation(BREAKER_VALUE[info["state"]], {"batchkernel.provider.operation": op})
            for op, info in section.items()
            if isinstance(info, dict) and info.get("state") in BREAKER_VALUE
        ]

    def close(self) -> None:
        """Release the read pool."""
        if self._reader is not None:
            self._reader.dispose()


def _attribute(value: Any) -> Any:
    """An OTel attribute value: str, bool, int or float as they are; anything else as text."""
    return value if isinstance(value, str | bool | int | float) else str(value)
