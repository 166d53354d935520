"""The declarative base every table maps to (one metadata, one naming convention, so plugins'
tables and migrations agree with the kernel's) and the kernel's own tables: the scheduler
instances and their task leases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Integer, MetaData, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints predictably."""

    __table__: ClassVar[Table]
    """Every model maps one table (SQLAlchemy types it as any ``FromClause``)."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSON}


class SchedulerInstance(Base):
    """One running ``batchkernel run`` process: heartbeat, last task runs and plugin status.

    Written by the scheduler so that ``batchkernel status`` and ``serve`` (other processes) see
    measured figures instead of in-process singletons.
    """

    __tablename__ = "scheduler_instances"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[datetime | None]
    tasks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    plugin_status: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class TaskLease(Base):
    """Which instance may run a periodic task right now, until when (compare-and-set leases)."""

    __tablename__ = "task_leases"

    task: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None]
