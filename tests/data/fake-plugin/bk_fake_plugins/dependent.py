"""A third-party plugin that cannot work without ``fake-ok``."""

from typing import Any

from kernel import hookimpl


class Dependent:
    """Depends on fake-ok."""

    batchkernel_requires = ("fake-ok",)

    @hookimpl
    def record_metric(self, kernel: Any, metric: Any) -> None:
        """Ignore metrics."""
