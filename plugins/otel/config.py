"""Telemetry settings resolved once: ``[telemetry]`` values first, then ``OTEL_EXPORTER_OTLP_*``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

PROTOCOLS = ("http/protobuf", "grpc")
DEFAULT_HTTP_ENDPOINT = "http://localhost:4318"
DEFAULT_GRPC_ENDPOINT = "http://localhost:4317"


@dataclass(frozen=True, slots=True)
class TelemetryConfig:
    """What the exporters need; ``None`` leaves a value to the OTel SDK's own environment lookup."""

    exporter: str = "none"
    protocol: str = "http/protobuf"
    endpoint: str | None = None
    headers: dict[str, str] | None = None
    timeout_seconds: float | None = None
    service_name: str = "batchkernel"
    export_interval_seconds: float = 15.0
    max_queue_size: int = 2048
    prometheus_port: int = 0
    prometheus_host: str = "127.0.0.1"
    resource: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Any) -> TelemetryConfig:
        """Read ``[telemetry]``; empty values fall back to the standard OTel variables."""
        section = settings.get("telemetry") or {}
        protocol = str(section.get("protocol") or "").strip() or os.environ.get(
            "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
        )
        if protocol not in PROTOCOLS:
            protocol = "http/protobuf"
        headers = {str(k): str(v) for k, v in dict(section.get("headers") or {}).items()}
        timeout = float(section.get("timeout_seconds") or 0)
        return cls(
            exporter=str(section.get("exporter", "none")),
            protocol=protocol,
            endpoint=str(section.get("endpoint") or "").strip() or None,
            headers=headers or None,
            timeout_seconds=timeout if timeout > 0 else None,
            service_name=str(section.get("service_name") or "batchkernel"),
            export_interval_seconds=float(section.get("export_interval_seconds") or 15),
            max_queue_size=int(section.get("max_queue_size") or 2048),
            prometheus_port=int(section.get("prometheus_port") or 0),
            prometheus_host=str(section.get("prometheus_host") or "127.0.0.1"),
        )

    def signal_endpoint(self, signal: str) -> str | None:
        """The URL for one signal (``traces``/``metrics``); ``None`` lets the SDK read the env."""
        if self.endpoint is None:
            return None
        if self.protocol == "grpc":
            return self.endpoint
        return f"{self.endpoint.rstrip('/')}/v1/{signal}"

    def describe_endpoint(self) -> str:
        """The collector address for log lines and status (never headers: they may hold secrets)."""
        if self.endpoint is not None:
            return self.endpoint
        env = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if env:
            return env
        return DEFAULT_GRPC_ENDPOINT if self.protocol == "grpc" else DEFAULT_HTTP_ENDPOINT
