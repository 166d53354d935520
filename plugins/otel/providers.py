"""Builds this plugin's own tracer and meter providers and their exporters from the settings.

Providers are per plugin instance (never the process-global ones), so several kernels in one
process (tests, ``bench``) do not share or replace each other's pipelines. Spans go through a
bounded ``BatchSpanProcessor``; metrics through a ``PeriodicExportingMetricReader``; both export
on background threads, so a slow or dead collector costs the pipeline nothing but dropped spans.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from plugins.otel.config import TelemetryConfig
from plugins.otel.health import (
    ExportHealth,
    GuardedMetricExporter,
    GuardedSpanExporter,
    quiet_sdk_loggers,
)

log = logging.getLogger("batchkernel.otel")

SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
"""Histogram bounds for durations in seconds (the OTel defaults are meant for milliseconds)."""
SPAN_SCHEDULE_DELAY_MS = 1000
METRIC_EXPORT_TIMEOUT_MS = 5000


@dataclass
class Telemetry:
    """The running providers of one plugin instance, and a way to flush and stop them."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    health: ExportHealth
    readers: list[MetricReader] = field(default_factory=list)
    prometheus_url: str | None = None

    def force_flush(self, timeout_millis: int = 10_000) -> None:
        """Send everything buffered now (tests, clean exits)."""
        self.tracer_provider.force_flush(timeout_millis)
        self.meter_provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Flush and stop both providers."""
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def _otlp_exporters(config: TelemetryConfig) -> tuple[SpanExporter, MetricExporter]:
    """OTLP span and metric exporters over HTTP/protobuf or gRPC."""
    common: dict[str, Any] = {"headers": config.headers, "timeout": config.timeout_seconds}
    if config.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        insecure = config.endpoint.startswith("http://") if config.endpoint else None
        return (
            OTLPSpanExporter(
                endpoint=config.signal_endpoint("traces"), insecure=insecure, **common
            ),
            OTLPMetricExporter(
                endpoint=config.signal_endpoint("metrics"), insecure=insecure, **common
            ),
        )
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HTTPMetricExporter,
    )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HTTPSpanExporter,
    )

    return (
        HTTPSpanExporter(endpoint=config.signal_endpoint("traces"), **common),
        HTTPMetricExporter(endpoint=config.signal_endpoint("metrics"), **common),
    )


def _exporters(config: TelemetryConfig) -> tuple[SpanExporter | None, MetricExporter | None]:
    """The push exporters the settings ask for (``none``: no push, maybe Prometheus only)."""
    if config.exporter == "otlp":
        return _otlp_exporters(config)
    if config.exporter == "console":
        return ConsoleSpanExporter(out=sys.stderr), ConsoleMetricExporter(out=sys.stderr)
    return None, None


def _prometheus_reader(config: TelemetryConfig) -> tuple[MetricReader | None, str | None]:
    """A pull reader served on ``prometheus_host:prometheus_port`` with its own registry."""
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry(auto_describe=True)
    reader = PrometheusMetricReader(registry=registry)
    try:
        start_http_server(config.prometheus_port, addr=config.prometheus_host, registry=registry)
    except OSError as exc:
        log.warning(
            "telemetry: cannot serve Prometheus metrics on %s:%d (%s); continuing without",
            config.prometheus_host,
            config.prometheus_port,
            exc,
        )
        return None, None
    return reader, f"http://{config.prometheus_host}:{config.prometheus_port}/metrics"


def build_telemetry(config: TelemetryConfig) -> Telemetry:
    """Providers with the configured exporters, quiet SDK loggers and bounded queues."""
    health = ExportHealth(
        config.describe_endpoint() if config.exporter == "otlp" else config.exporter
    )
    resource = Resource.create({"service.name": config.service_name, **config.resource})
    span_exporter, metric_exporter = _exporters(config)
    tracer_provider = TracerProvider(resource=resource)
    if span_exporter is not None:
        tracer_provider.add_span_processor(
            BatchSpanProcessor(
                GuardedSpanExporter(span_exporter, health),
                max_queue_size=config.max_queue_size,
                schedule_delay_millis=SPAN_SCHEDULE_DELAY_MS,
                max_export_batch_size=min(512, config.max_queue_size),
                export_timeout_millis=(config.timeout_seconds or 10) * 1000,
            )
        )
    readers: list[MetricReader] = []
    if metric_exporter is not None:
        readers.append(
            PeriodicExportingMetricReader(
                GuardedMetricExporter(metric_exporter, health),
                export_interval_millis=config.export_interval_seconds * 1000,
                export_timeout_millis=METRIC_EXPORT_TIMEOUT_MS,
            )
        )
    prometheus_url = None
    if config.prometheus_port:
        reader, prometheus_url = _prometheus_reader(config)
        if reader is not None:
            readers.append(reader)
    meter_provider = MeterProvider(
        resource=resource,
        metric_readers=readers,
        views=[
            View(
                instrument_type=Histogram,
                instrument_unit="s",
                aggregation=ExplicitBucketHistogramAggregation(SECONDS_BUCKETS),
            )
        ],
    )
    quiet_sdk_loggers(health)
    return Telemetry(tracer_provider, meter_provider, health, readers, prometheus_url)
