"""``run --until-idle``: the scheduler's tasks back to back, small batches flushed, until no work is
left, or until it cannot go on (why), or a timeout; the demo, the benchmark and the tests drain
the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from plugins.common.calls import work_left

if TYPE_CHECKING:
    from kernel.scheduler import Scheduler

LASTING_CONDITIONS = frozenset({"quota", "config"})
"""Provider conditions that waiting a few passes cannot end: the drain stops on them."""

PassObserver = Callable[[int, dict[str, int]], None]
"""Told after each pass: its number and the work left."""


@dataclass(slots=True)
class IdleOutcome:
    """Result of :func:`run_until_idle`: whether it got there, why not, and what it did."""

    idle: bool
    reason: str = ""
    passes: int = 0
    seconds: float = 0.0
    stopped: bool = False
    """Stopped on request (a signal): not idle, but not a failure either."""


def run_until_idle(
    scheduler: Scheduler, *, on_pass: PassObserver | None = None, timeout: float | None = None
) -> IdleOutcome:
    """Run every task once per pass, flushing small batches, until nothing is pending or in
    flight (``scheduler.idle_pause_seconds`` between passes, ``scheduler.idle_timeout_seconds``
    at most unless ``timeout`` is given); the instance stops at the end."""
    scheduler.flush = True
    settings = scheduler.settings.scheduler
    limit = timeout if timeout is not None else float(settings.idle_timeout_seconds)
    try:
        return _drain(scheduler, on_pass, float(settings.idle_pause_seconds), limit)
    finally:
        scheduler.stop_instance()


def _drain(
    scheduler: Scheduler, on_pass: PassObserver | None, pause: float, limit: float
) -> IdleOutcome:
    """The passes of :func:`run_until_idle` (SQLAlchemy imported here: ``run``'s module, which
    imports this one, is read whenever settings are declared)."""
    from sqlalchemy.exc import DBAPIError

    start = scheduler.clock()
    passes = 0
    while not scheduler.stop_event.is_set():
        passes += 1
        reports = scheduler.run_once()
        if scheduler.fatal:
            break
        try:
            left = work_left(scheduler.kernel)
        except DBAPIError as exc:
            scheduler.kernel.log.warning("could not count the work left: %s", exc)
            left = {"unknown": 1}
        if on_pass is not None:
            on_pass(passes, left)
        seconds = scheduler.clock() - start
        if not any(left.values()):
            return IdleOutcome(True, passes=passes, seconds=seconds)
        blocked = _blocked(scheduler, left)
        if blocked:
            return IdleOutcome(False, blocked, passes, seconds)
        if seconds > limit:
            errors = "; ".join(report.error for report in reports if report.error)
            reason = f"still {left} after {limit:.0f}s" + (
                f"; last errors: {errors}" if errors else ""
            )
            return IdleOutcome(False, reason, passes, seconds)
        scheduler.stop_event.wait(pause)
    seconds = scheduler.clock() - start
    if scheduler.fatal:
        return IdleOutcome(False, scheduler.fatal, passes, seconds)
    return IdleOutcome(False, "stopped on request", passes, seconds, stopped=True)


def _blocked(scheduler: Scheduler, left: dict[str, int]) -> str:
    """Why pending work cannot go on (every provider paused for long, nothing running), or "":
    the drain stops with it instead of waiting for its timeout."""
    if left.get("in_flight") or left.get("batches_unsettled"):
        return ""
    paused = scheduler.paused_providers()
    lasting = [health for health in paused if health.condition in LASTING_CONDITIONS]
    if not lasting or len(paused) < len(scheduler.kernel.providers()):
        return ""
    reasons = "; ".join(
        f"provider {h.provider} paused ({h.condition}) until "
        f"{h.until.isoformat() if h.until else '?'}: {h.reason}"
        for h in lasting
    )
    return f"{left.get('pending', 0)} requests pending, no batch can be created: {reasons}"
