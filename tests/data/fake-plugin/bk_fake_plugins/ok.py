"""A working third-party exporter: keeps every metric it receives."""

from typing import Any

from kernel import hookimpl
from kernel.api import KernelAPI


class MetricRecorder:
    """Collects metrics in memory."""

    def __init__(self) -> None:
        self.metrics: list[Any] = []

    @hookimpl
    def record_metric(self, kernel: KernelAPI, metric: Any) -> None:
        """Keep the metric."""
        self.metrics.append(metric)
