"""A third-party plugin that cannot work without ``fake-ok``."""

from typing import Any

from kernel import hookimpl
from kernel.api import KernelAPI


class Dependent:
    """Depends on fake-ok."""

    batchkernel_requires = ("fake-ok",)

    @hookimpl
    def record_metric(self, kernel: KernelAPI, metric: Any) -> None:
        """Ignore metrics."""
