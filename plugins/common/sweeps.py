"""What every provider's sweep of leftovers shares: at most one run per interval, and the same
log line and metric for what it deleted."""

from __future__ import annotations

from collections.abc import Callable

from kernel.api import Reporting

SWEPT = "batchkernel.provider.files.swept"


class SweepSchedule:
    """At most one sweep per interval, timed by the plugin's own clock; a sweep that failed is
    not recorded, so the next call tries again."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.last: float | None = None

    def due(self, interval: float, *, enabled: bool = True) -> float | None:
        """The time now when a sweep is due, else ``None`` (always when not ``enabled``: the
        retention setting keeps what a sweep would delete)."""
        now = self.clock()
        if not enabled or (self.last is not None and now - self.last < interval):
            return None
        return now

    def done(self, started: float) -> None:
        """Record a sweep that started at ``started`` and went through."""
        self.last = started


def report_sweep(kernel: Reporting, provider: str, deleted: int, doomed: int) -> None:
    """Log what a sweep deleted of what it meant to, and count it."""
    if doomed:
        kernel.log.info(
            "swept %d of %d %s leftovers of finished batches", deleted, doomed, provider
        )
    kernel.metric(SWEPT, deleted, kind="counter", unit="{file}", provider=provider)
