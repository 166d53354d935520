"""What ``run`` says about its work: one progress line per cycle and the totals for its summary,
in words (``claimed 200 requests into 3 batches, submitted 3, ...``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel.scheduler import StepReport

PROGRESS = ("claimed", "batches", "submitted", "completed", "failed", "requeued")
"""What a cycle's progress line counts (and the run's summary totals)."""

log = logging.getLogger("batchkernel.run")


class CycleProgress:
    """The scheduler's cycle observer for ``run``: counts the cycles, adds up their progress and
    logs each one, at INFO when it moved work, failed or changed what is in flight, else DEBUG."""

    def __init__(self) -> None:
        self.cycles = 0
        self.totals: dict[str, float] = dict.fromkeys(PROGRESS, 0)
        """What every cycle so far did, for the summary."""
        self._last_in_flight: int | None = None

    def __call__(self, reports: Sequence[StepReport], seconds: float) -> None:
        """Add one cycle to the totals and log it."""
        self.cycles += 1
        counts = cycle_progress(reports)
        for name in PROGRESS:
            self.totals[name] += counts.get(name, 0)
        errors = [f"task {r.task} failed: {r.error}" for r in reports if r.error]
        moved = any(counts.get(name) for name in PROGRESS)
        changed = counts.get("in_flight") != self._last_in_flight
        self._last_in_flight = counts.get("in_flight")
        level = logging.INFO if moved or errors or changed else logging.DEBUG
        if not log.isEnabledFor(level):
            return
        text = f"cycle {self.cycles}: {describe_progress(counts)} ({seconds:.2f} s)"
        if errors:
            text += "; " + "; ".join(errors)
        log.log(
            level,
            text,
            extra={"fields": {"cycle": self.cycles, "seconds": round(seconds, 3), **counts}},
        )


def cycle_progress(reports: Sequence[StepReport]) -> dict[str, int]:
    """A cycle's progress counts (and batches in flight when polled) from its task reports."""
    by_task = {report.task: report.counts for report in reports}
    create = by_task.get("create", {})
    apply = by_task.get("apply", {})
    counts = {
        "claimed": int(create.get("requests", 0)),
        "batches": int(create.get("plans", 0)),
        "submitted": int(create.get("submitted", 0)),
        "completed": int(apply.get("completed", 0)),
        "failed": int(apply.get("failed", 0)) + int(by_task.get("retry", {}).get("failed", 0)),
        "requeued": int(apply.get("requeued", 0)),
    }
    if "poll" in by_task:
        counts["in_flight"] = int(by_task["poll"].get("batches", 0))
    return counts


def describe_progress(counts: dict[str, Any]) -> str:
    """Counts in words: ``claimed 200 requests into 3 batches, submitted 3, ...``."""
    parts = [
        f"claimed {plural(counts.get('claimed', 0), 'request')} into "
        f"{plural(counts.get('batches', 0), 'batch')}",
        f"submitted {int(counts.get('submitted', 0)):,}",
        f"completed {int(counts.get('completed', 0)):,}",
        f"failed {int(counts.get('failed', 0)):,}",
    ]
    if counts.get("requeued"):
        parts.append(f"re-queued {int(counts['requeued']):,}")
    if "in_flight" in counts:
        parts.append(f"{plural(counts['in_flight'], 'batch')} in flight")
    return ", ".join(parts)


def plural(count: float, noun: str) -> str:
    """``1 batch``, ``2 batches``, ``1,000 requests``."""
    number = int(count)
    if number == 1:
        return f"1 {noun}"
    suffix = "es" if noun.endswith(("s", "sh", "ch", "x")) else "s"
    return f"{number:,} {noun}{suffix}"
