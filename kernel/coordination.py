"""Coordination between instances through the database: a lease row per task, taken by a
compare-and-set ``UPDATE`` (free, ours or expired), and a heartbeat thread that keeps the instance
row and its leases fresh, so a dead instance's work is taken over within ``lease_seconds``."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from kernel.api import KernelAPI
from kernel.db.models import SchedulerInstance, TaskLease, utcnow
from kernel.db.rowcount import rowcount


def db_now(db: Any) -> Any:
    """The current time as the database sees it (PostgreSQL), or the local UTC time (SQLite)."""
    return func.now() if db.is_postgres else utcnow()


class TaskLeases:
    """Leases on periodic tasks held by one instance."""

    def __init__(self, kernel: KernelAPI, owner: str, ttl_seconds: float) -> None:
        self.kernel = kernel
        self.owner = owner
        self.ttl = timedelta(seconds=ttl_seconds)
        self.held: set[str] = set()
        self._lock = threading.Lock()

    def acquire(self, task: str) -> bool:
        """Take the lease on ``task`` if nobody else holds a live one."""
        db = self.kernel.db
        now = db_now(db)
        with db.transaction() as session:
            taken = rowcount(
                session.execute(
                    update(TaskLease)
                    .where(
                        TaskLease.task == task,
                        or_(
                            TaskLease.owner.is_(None),
                            TaskLease.owner == self.owner,
                            TaskLease.expires_at < now,
                        ),
                    )
                    .values(owner=self.owner, expires_at=now + self.ttl)
                )
            )
        if not taken:
            with db.transaction() as session:
                exists = session.scalar(select(TaskLease.task).where(TaskLease.task == task))
            if exists:
                return False
            try:
                with db.transaction() as session:
                    session.execute(
                        insert(TaskLease).values(
                            task=task, owner=self.owner, expires_at=now + self.ttl
                        )
                    )
            except IntegrityError:
                return False
        with self._lock:
            self.held.add(task)
        return True

    def release(self, task: str) -> None:
        """Give the lease back (only if still ours)."""
        with self._lock:
            self.held.discard(task)
        with self.kernel.db.transaction() as session:
            session.execute(
                update(TaskLease)
                .where(TaskLease.task == task, TaskLease.owner == self.owner)
                .values(owner=None, expires_at=None)
            )

    def renew(self) -> None:
        """Push the expiry of every lease this instance holds."""
        with self._lock:
            held = list(self.held)
        if not held:
            return
        db = self.kernel.db
        now = db_now(db)
        with db.transaction() as session:
            session.execute(
                update(TaskLease)
                .where(TaskLease.task.in_(held), TaskLease.owner == self.owner)
                .values(expires_at=now + self.ttl)
            )


class Heartbeat:
    """A daemon thread that beats the instance row and renews held leases every few seconds."""

    def __init__(
        self, kernel: KernelAPI, instance_id: str, leases: TaskLeases, every: float
    ) -> None:
        self.kernel = kernel
        self.instance_id = instance_id
        self.leases = leases
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        """Start beating."""
        self._thread.start()

    def stop(self) -> None:
        """Stop beating (the instance is going away)."""
        self._stop.set()
        self._thread.join(timeout=5)

    def beat(self) -> None:
        """One beat: the instance row's heartbeat and the leases' expiry."""
        db = self.kernel.db
        with db.transaction() as session:
            session.execute(
                update(SchedulerInstance)
                .where(SchedulerInstance.id == self.instance_id)
                .values(heartbeat_at=db_now(db))
            )
        self.leases.renew()

    def _run(self) -> None:
        """Beat until stopped or the kernel is closed (a scheduler its owner never stopped); a
        failed beat (database away) is logged and retried."""
        while not self._stop.wait(self.every) and not self.kernel.closed:
            try:
                self.beat()
            except Exception as exc:
                self.kernel.log.warning("heartbeat failed: %s", exc)
