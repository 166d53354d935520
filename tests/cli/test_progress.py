"""``run``'s progress lines: each cycle in words at INFO when it moved work or what is in flight
changed, at DEBUG otherwise, and the totals for the summary."""

from __future__ import annotations

import logging

import pytest

from kernel.scheduler import StepReport
from plugins.core_commands.progress import CycleProgress, describe_progress


def reports(requests: int, plans: int, completed: int, in_flight: int) -> list[StepReport]:
    """One cycle's create, poll and apply reports."""
    return [
        StepReport("create", counts={"requests": requests, "plans": plans, "submitted": plans}),
        StepReport("poll", counts={"batches": in_flight}),
        StepReport("apply", counts={"completed": completed}),
    ]


def test_each_cycle_is_one_line_and_adds_to_the_totals(caplog: pytest.LogCaptureFixture) -> None:
    progress = CycleProgress()
    with caplog.at_level(logging.DEBUG, logger="batchkernel.run"):
        progress(reports(200, 3, 0, 3), 2.5)
        progress(reports(0, 0, 0, 3), 0.1)
        progress(reports(0, 0, 198, 0), 1.0)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.INFO,
            "cycle 1: claimed 200 requests into 3 batches, submitted 3, completed 0, failed 0, "
            "3 batches in flight (2.50 s)",
        ),
        (
            logging.DEBUG,
            "cycle 2: claimed 0 requests into 0 batches, submitted 0, completed 0, failed 0, "
            "3 batches in flight (0.10 s)",
        ),
        (
            logging.INFO,
            "cycle 3: claimed 0 requests into 0 batches, submitted 0, completed 198, failed 0, "
            "0 batches in flight (1.00 s)",
        ),
    ]
    assert progress.cycles == 3
    assert describe_progress(progress.totals) == (
        "claimed 200 requests into 3 batches, submitted 3, completed 198, failed 0"
    )
