"""Exporter failure handling: exporters wrapped so a dead collector is reported once, not per span.

The OTel SDK's exporters log a warning for every failed export (and retry); a collector that is
down would flood the log. :class:`ExportHealth` lets one line through when exporting starts to
fail, another when it recovers, and sends the SDK's own messages to debug level.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

log = logging.getLogger("batchkernel.otel")


class ExportHealth:
    """Shared state of every exporter of one plugin: failing or not, counts, first reason."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._lock = threading.Lock()
        self.failing = False
        self.failures = 0
        self.exports = 0
        self.dropped_spans = 0
        self.last_reason = ""

    def note_sdk_message(self, message: str) -> None:
        """Keep the SDK's latest complaint, to quote it in our one warning."""
        with self._lock:
            self.last_reason = message[:300]

    def succeeded(self, signal: str) -> None:
        """An export went through; log the recovery once if it had been failing."""
        with self._lock:
            self.exports += 1
            recovered = self.failing
            self.failing = False
        if recovered:
            log.warning("telemetry export to %s works again (%s)", self.target, signal)

    def failed(self, signal: str, reason: str = "", count: int = 0) -> None:
        """An export failed; only the first failure of a run of failures is logged."""
        with self._lock:
            self.failures += 1
            if signal == "traces":
                self.dropped_spans += count
            first = not self.failing
            self.failing = True
            reason = reason or self.last_reason or "no reason given"
        if first:
            log.warning(
                "telemetry export of %s to %s failed (%s); processing goes on, further failures "
                "are not logged until the export works again",
                signal,
                self.target,
                reason,
            )

    def snapshot(self) -> dict[str, Any]:
        """Figures for the status snapshot."""
        with self._lock:
            return {
                "target": self.target,
                "failing": self.failing,
                "exports": self.exports,
                "failures": self.failures,
                "dropped_spans": self.dropped_spans,
            }


class SdkLogFilter(logging.Filter):
    """Turns OpenTelemetry's own warnings into debug lines, remembering the latest as the reason."""

    def __init__(self, health: ExportHealth) -> None:
        super().__init__("opentelemetry")
        self.health = health

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop warnings and errors (kept as the reason and logged at debug); let the rest pass."""
        if record.levelno < logging.WARNING:
            return True
        message = record.getMessage()
        self.health.note_sdk_message(message)
        log.debug("opentelemetry: %s", message)
        return False


def quiet_sdk_loggers(health: ExportHealth) -> SdkLogFilter:
    """Install the filter on every ``opentelemetry`` logger that exists (call after imports)."""
    sdk_filter = SdkLogFilter(health)
    names = [name for name in logging.root.manager.loggerDict if name.startswith("opentelemetry")]
    for name in ["opentelemetry", *names]:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, SdkLogFilter)]:
            logger.removeFilter(old)
        logger.addFilter(sdk_filter)
    return sdk_filter


class GuardedSpanExporter(SpanExporter):
    """Delegates to a real span exporter; never raises, reports health."""

    def __init__(self, inner: SpanExporter, health: ExportHealth) -> None:
        self.inner = inner
        self.health = health

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export one batch; any exception is a failure, not a crash of the worker thread."""
        try:
            result = self.inner.export(spans)
        except Exception as exc:
            self.health.failed("traces", f"{type(exc).__name__}: {exc}", len(spans))
            return SpanExportResult.FAILURE
        if result == SpanExportResult.SUCCESS:
            self.health.succeeded("traces")
        else:
            self.health.failed("traces", count=len(spans))
        return result

    def shutdown(self) -> None:
        """Shut the real exporter down."""
        try:
            self.inner.shutdown()
        except Exception:
            log.debug("span exporter shutdown failed", exc_info=True)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the real exporter."""
        try:
            return bool(self.inner.force_flush(timeout_millis))
        except Exception:
            return False


class GuardedMetricExporter(MetricExporter):
    """Delegates to a real metric exporter (same temporality and aggregation); never raises."""

    def __init__(self, inner: MetricExporter, health: ExportHealth) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self.inner = inner
        self.health = health

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        """Export one collection; any exception is a failure."""
        try:
            result = self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        except Exception as exc:
            self.health.failed("metrics", f"{type(exc).__name__}: {exc}")
            return MetricExportResult.FAILURE
        if result == MetricExportResult.SUCCESS:
            self.health.succeeded("metrics")
        else:
            self.health.failed("metrics")
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Flush the real exporter."""
        try:
            return bool(self.inner.force_flush(timeout_millis=timeout_millis))
        except Exception:
            return False

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Shut the real exporter down."""
        try:
            self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)
        except Exception:
            log.debug("metric exporter shutdown failed", exc_info=True)
