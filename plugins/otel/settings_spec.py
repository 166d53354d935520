"""Settings of the ``otel`` exporter: the ``[telemetry]`` section (kept free of OpenTelemetry)."""

from __future__ import annotations

from kernel import hookimpl
from kernel.settingspec import Section, Setting

TELEMETRY = Section(
    "telemetry",
    "OpenTelemetry traces and metrics. An exporter other than none (or a prometheus_port) "
    "enables the otel plugin; empty values fall back to the standard OTEL_EXPORTER_OTLP_* "
    "variables.",
    (
        Setting(
            "exporter",
            str,
            "none",
            "otlp, console or none (not none: the otel plugin is enabled)",
            choices=("otlp", "console", "none"),
        ),
        Setting(
            "protocol",
            str,
            "",
            'http/protobuf or grpc; "": OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf',
            choices=("", "http/protobuf", "grpc"),
        ),
        Setting(
            "endpoint",
            str,
            "",
            'the collector (http://host:4318, grpc http://host:4317); "": OTEL_EXPORTER_OTLP_ENDPOINT',
        ),
        Setting(
            "headers",
            dict,
            {},
            "sent with every export; empty: OTEL_EXPORTER_OTLP_HEADERS; never logged",
            secret=True,
        ),
        Setting(
            "timeout_seconds",
            float,
            0,
            "per export request; 0: OTEL_EXPORTER_OTLP_TIMEOUT, else 10 s",
            ge=0,
        ),
        Setting("service_name", str, "batchkernel", "the service.name resource attribute"),
        Setting(
            "export_interval_seconds",
            float,
            15,
            "how often metrics are pushed to the collector",
            ge=0,
        ),
        Setting(
            "max_queue_size",
            int,
            2048,
            "spans kept while the collector is slow; more are dropped",
            ge=1,
        ),
        Setting(
            "prometheus_port",
            int,
            0,
            "> 0: serve this process's metrics for Prometheus on this port",
            ge=0,
            le=65535,
        ),
        Setting(
            "prometheus_host",
            str,
            "127.0.0.1",
            "the address of the Prometheus port",
            non_empty=True,
        ),
    ),
    enables=lambda values: values["exporter"] != "none" or values["prometheus_port"] > 0,
)


@hookimpl
def declare_settings() -> list[Section]:
    """The ``[telemetry]`` section."""
    return [TELEMETRY]
