"""A working third-party exporter: keeps the metrics it receives, and offers a hook of its own
(``kept_metrics``: other plugins name the metrics worth keeping)."""

from typing import Any

from kernel import hookimpl, hookspec
from kernel.api import KernelAPI


class RecorderSpec:
    """The hook this distribution adds, declared through ``declare_hookspecs``."""

    @hookspec
    def kept_metrics(self, kernel: KernelAPI) -> list[str] | None:
        """The metric names worth keeping; nobody answering: every metric."""


class MetricRecorder:
    """Collects metrics in memory."""

    def __init__(self) -> None:
        self.metrics: list[Any] = []

    @hookimpl
    def declare_hookspecs(self) -> list[type]:
        """This distribution's own hook."""
        return [RecorderSpec]

    @hookimpl
    def record_metric(self, kernel: KernelAPI, metric: Any) -> None:
        """Keep the metric, if another plugin names it (or none names any)."""
        kept = {name for names in kernel.pm.hook.kept_metrics(kernel=kernel) for name in names}
        if not kept or metric.name in kept:
            self.metrics.append(metric)
