"""Exporter choices: OTLP over gRPC to a loopback receiver, console, and the Prometheus endpoint."""

from __future__ import annotations

import urllib.request
from concurrent import futures
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from kernel.manager import Kernel
from kernel.types import Metric
from plugins.otel.config import TelemetryConfig


class _Traces(trace_service_pb2_grpc.TraceServiceServicer):
    """Keeps the span names it receives."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def Export(self, request: Any, context: Any) -> Any:
        """Store span names."""
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                self.names += [span.name for span in scope.spans]
        return trace_service_pb2.ExportTraceServiceResponse()


class _Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    """Keeps the metric names it receives."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def Export(self, request: Any, context: Any) -> Any:
        """Store metric names."""
        for resource in request.resource_metrics:
            for scope in resource.scope_metrics:
                self.names |= {metric.name for metric in scope.metrics}
        return metrics_service_pb2.ExportMetricsServiceResponse()


def _exercise(kernel: Kernel) -> Any:
    """One task through the hooks and one metric, then a flush."""
    kernel.run_cycle(lambda: {"tasks": 1.0})
    kernel.metric("batchkernel.test.events", 2, unit="{event}", source="test")
    plugin = kernel.pm.get_plugin("otel")
    assert plugin is not None
    plugin.force_flush()
    return plugin


def test_otlp_grpc_reaches_a_grpc_collector(make_kernel: Any, sqlite_url: str) -> None:
    traces, metrics = _Traces(), _Metrics()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(traces, server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(metrics, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        kernel = make_kernel(
            sqlite_url,
            telemetry__exporter="otlp",
            telemetry__protocol="grpc",
            telemetry__endpoint=f"http://127.0.0.1:{port}",
            telemetry__export_interval_seconds=3600,
        )
        _exercise(kernel).shutdown()
    finally:
        server.stop(None)
    assert traces.names == ["batchkernel.cycle"]
    assert {"batchkernel.test.events", "batchkernel.provider.circuit.state"} <= metrics.names


def test_standard_otel_variables_apply_when_settings_leave_them_empty(
    monkeypatch: Any, make_kernel: Any, sqlite_url: str
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector.invalid:4317")
    kernel = make_kernel(sqlite_url, telemetry__exporter="otlp")
    config = TelemetryConfig.from_settings(kernel.settings)
    assert config.protocol == "grpc" and config.endpoint is None
    assert config.describe_endpoint() == "http://collector.invalid:4317"
    settings_win = make_kernel(
        sqlite_url,
        telemetry__exporter="otlp",
        telemetry__protocol="http/protobuf",
        telemetry__endpoint="http://127.0.0.1:4318",
    )
    config = TelemetryConfig.from_settings(settings_win.settings)
    assert config.signal_endpoint("traces") == "http://127.0.0.1:4318/v1/traces"


def test_exporter_none_leaves_the_plugin_out(make_kernel: Any, sqlite_url: str) -> None:
    kernel = make_kernel(sqlite_url)
    assert kernel.pm.get_plugin("otel") is None


def test_console_and_prometheus_exporters(make_kernel: Any, sqlite_url: str, capsys: Any) -> None:
    kernel = make_kernel(
        sqlite_url,
        telemetry__exporter="console",
        telemetry__prometheus_port=_free_port(),
        telemetry__export_interval_seconds=3600,
    )
    kernel.metric(
        "batchkernel.provider.call.duration", 0.25, kind="histogram", unit="s", operation="create"
    )
    kernel.pm.hook.record_metric(kernel=kernel, metric=Metric("x.bad", "counter", -1.0))
    plugin = _exercise(kernel)
    url = plugin.telemetry.prometheus_url
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    plugin.shutdown()
    assert "batchkernel_provider_call_duration_seconds_bucket" in text
    assert "batchkernel_test_events" in text
    assert '"name": "batchkernel.cycle"' in capsys.readouterr().err


def _free_port() -> int:
    """A free loopback port."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
