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

    exporter: str
    protocol: str
    endpoint: str | None
    headers: dict[str, str] | None
    timeout_seconds: float | None
    service_name: str
    export_interval_seconds: float
    max_queue_size: int
    prometheus_port: int
    prometheus_host: str
    resource: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Any) -> TelemetryConfig:
        """Read ``[telemetry]``; empty values fall back to the standard OTel variables."""
        section = settings.telemetry
        protocol = str(section.protocol).strip() or os.environ.get(
            "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
        )
        if protocol not in PROTOCOLS:
            protocol = "http/protobuf"
        headers = {str(k): str(v) for k, v in dict(section.headers).items()}
        timeout = float(section.timeout_seconds)
        return cls(
            exporter=str(section.exporter),
            protocol=protocol,
            endpoint=str(section.endpoint).strip() or None,
            headers=headers or None,
            timeout_seconds=timeout if timeout > 0 else None,
            service_name=str(section.service_name),
            export_interval_seconds=float(section.export_interval_seconds),
            max_queue_size=int(section.max_queue_size),
            prometheus_port=int(section.prometheus_port),
            prometheus_host=str(section.prometheus_host),
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
