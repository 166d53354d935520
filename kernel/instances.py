"""Scheduler instances in the database (who runs, heartbeat, last task runs, plugin status), for
``status`` and ``serve`` in other processes."""

from __future__ import annotations

import os
import secrets
import socket
from typing import Any

from sqlalchemy import update

from kernel.api import KernelAPI
from kernel.db.models import SchedulerInstance, utcnow


class InstanceRecorder:
    """Writes this process's row: registered at start, updated after every task run and cycle."""

    def __init__(self, kernel: KernelAPI, instance_id: str | None = None) -> None:
        self.kernel = kernel
        # host-pid-random: unique per process, readable in status output.
        self.id = instance_id or f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(3)}"
        self.tasks: dict[str, Any] = {}
        self._registered = False

    def register(self) -> None:
        """Insert this instance's row (once)."""
        if self._registered:
            return
        with self.kernel.db.transaction() as session:
            session.add(
                SchedulerInstance(
                    id=self.id,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    tasks={},
                    plugin_status={},
                )
            )
        self._registered = True

    def _update(self, **values: Any) -> None:
        """Set ``values`` and the heartbeat on this instance's row."""
        with self.kernel.db.transaction() as session:
            session.execute(
                update(SchedulerInstance)
                .where(SchedulerInstance.id == self.id)
                .values(heartbeat_at=utcnow(), **values)
            )

    def record_task(self, task: str, report: dict[str, Any]) -> None:
        """Store the last run of ``task`` and the plugins' status, and beat the heart."""
        self.register()
        self.tasks[task] = report
        self._update(tasks=dict(self.tasks), plugin_status=self.kernel.collect_status())

    def record_cycle(self, report: dict[str, Any]) -> None:
        """Store the last cycle's totals (under ``tasks["cycle"]``) without re-collecting status."""
        self.register()
        self.tasks["cycle"] = report
        self._update(tasks=dict(self.tasks))

    def stop(self) -> None:
        """Mark the instance stopped (a clean exit)."""
        if self._registered:
            self._update(stopped_at=utcnow())
