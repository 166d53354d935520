"""Plugin ``otel``: OpenTelemetry traces and metrics of the pipeline, exported as settings say.

Enabled automatically when ``telemetry.exporter`` is not ``none`` (or ``telemetry.prometheus_port``
is set). Everything OpenTelemetry lives in this package; the kernel knows none of it.
"""

from plugins.common.lazy import lazy_exports

__getattr__ = lazy_exports(__name__, {"OtelPlugin": "plugin"})

__all__ = ["OtelPlugin"]
