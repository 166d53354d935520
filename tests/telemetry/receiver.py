"""An OTLP/HTTP receiver on loopback for tests: decodes the real protobuf payloads it is sent."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def any_value(value: AnyValue) -> Any:
    """A protobuf AnyValue as a Python value."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


def attributes(items: Any) -> dict[str, Any]:
    """Protobuf KeyValue list to a dict."""
    return {item.key: any_value(item.value) for item in items}


class OTLPReceiver:
    """Collects every span and metric data point posted to ``/v1/traces`` and ``/v1/metrics``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: list[dict[str, Any]] = []
        self.metrics: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            """Decodes one export request."""

            def do_POST(self) -> None:
                """Parse the protobuf body of a traces or metrics export."""
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path == "/v1/traces":
                    receiver.add_traces(body)
                    answer = ExportTraceServiceResponse().SerializeToString()
                elif self.path == "/v1/metrics":
                    receiver.add_metrics(body)
                    answer = ExportMetricsServiceResponse().SerializeToString()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args: Any) -> None:
                """Quiet."""

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def add_traces(self, body: bytes) -> None:
        """Store every span of one request."""
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            resource = attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    with self.lock:
                        self.spans.append(
                            {
                                "name": span.name,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent_id": span.parent_span_id.hex(),
                                "kind": span.kind,
                                "attributes": attributes(span.attributes),
                                "status": span.status.code,
                                "resource": resource,
                            }
                        )

    def add_metrics(self, body: bytes) -> None:
        """Store every data point of one request (sum, gauge, histogram)."""
        request = ExportMetricsServiceRequest()
        request.ParseFromString(body)
        for resource_metrics in request.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    kind = metric.WhichOneof("data")
                    for point in getattr(metric, kind).data_points:
                        value: Any
                        if kind == "histogram":
                            value = {"count": point.count, "sum": point.sum}
                        else:
                            value = getattr(point, point.WhichOneof("value"))
                        with self.lock:
                            self.metrics.append(
                                {
                                    "name": metric.name,
                                    "unit": metric.unit,
                                    "kind": kind,
                                    "monotonic": getattr(
                                        getattr(metric, kind), "is_monotonic", None
                                    ),
                                    "attributes": attributes(point.attributes),
                                    "value": value,
                                    "time": point.time_unix_nano,
                                }
                            )

    def latest(self, name: str) -> dict[tuple[tuple[str, Any], ...], Any]:
        """The last value of each attribute set of one metric."""
        out: dict[tuple[tuple[str, Any], ...], Any] = {}
        with self.lock:
            points = [m for m in self.metrics if m["name"] == name]
        for point in sorted(points, key=lambda m: m["time"]):
            out[tuple(sorted(point["attributes"].items()))] = point["value"]
        return out

    def start(self) -> OTLPReceiver:
        """Serve in a background thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop and free the port."""
        self.httpd.shutdown()
        self.httpd.server_close()
