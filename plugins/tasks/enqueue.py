"""``batchkernel enqueue``: one statement enqueues a task for every session without a request of it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, func, insert, literal, select

from kernel.api import KernelAPI
from plugins.common import calls
from plugins.common.schema.models import AIProcessingRequest, ChatSession, Message
from plugins.common.schema.statuses import RequestStatus
from plugins.common.timeutil import utcnow

REQUEST_COLUMNS = (
    "id",
    "session_id",
    "company_id",
    "processing_type",
    "model",
    "status",
    "attempts",
    "requested_at",
    "available_at",
)


def new_uuid(dialect: str) -> Any:
    """SQL for a new random UUID in text form (PostgreSQL's own; built from random bytes on
    SQLite)."""
    if dialect == "postgresql":
        return func.cast(func.gen_random_uuid(), AIProcessingRequest.id.type)
    h = func.lower(func.hex(func.randomblob(16)))
    parts = [
        func.substr(h, start, length)
        for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    ]
    out: ColumnElement[Any] = parts[0]
    for part in parts[1:]:
        out = out + literal("-") + part
    return out


def enqueue_task(kernel: KernelAPI, task_name: str, company_id: str | None = None) -> int:
    """Enqueue ``task_name`` for every session (of ``company_id``) that has messages and no
    request of that task yet; returns how many requests were created."""
    task = calls.task(kernel, task_name)
    model = task.model or str(kernel.settings.model.name)
    s, r = ChatSession, AIProcessingRequest
    now = utcnow()
    db = kernel.db
    source = select(
        new_uuid("postgresql" if db.is_postgres else "sqlite"),
        s.id,
        s.company_id,
        literal(task.name),
        literal(model),
        literal(RequestStatus.PENDING_BATCHING.value),
        literal(0),
        literal(now, r.requested_at.type),
        literal(now, r.available_at.type),
    ).where(
        exists().where(Message.session_id == s.id),
        ~exists().where(r.session_id == s.id, r.processing_type == task.name),
    )
    if company_id is not None:
        source = source.where(s.company_id == company_id)
    with db.transaction() as session:
        created = session.execute(
            insert(r.__table__)
            .from_select(list(REQUEST_COLUMNS), source)
            .returning(r.__table__.c.id)
        ).all()
    return len(created)
