"""A scheduler's heartbeat ends with its kernel: a library user who runs steps and closes the
kernel without stopping the scheduler leaves no thread beating into the database."""

from __future__ import annotations

from typing import Any

from kernel.scheduler import Scheduler


def test_the_heartbeat_stops_when_its_kernel_is_closed(make_kernel: Any, sqlite_url: str) -> None:
    kernel = make_kernel(sqlite_url, scheduler__heartbeat_seconds=0.01)
    scheduler = Scheduler(kernel)
    scheduler.run_task("poll")  # starts the instance and its heartbeat, as a library call does
    assert scheduler.heartbeat is not None
    thread = scheduler.heartbeat._thread
    assert thread.is_alive()
    kernel.close()
    thread.join(timeout=60)
    assert not thread.is_alive()
