"""The audit trail of operator actions: written in the action's own transaction (or on its own
for a refusal), read newest first, a bounded page at a time."""

from __future__ import annotations

import getpass
import socket
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from plugins.common.operations.listing import iso
from plugins.common.schema.models import AuditEntry
from plugins.common.timeutil import utcnow

DETAIL_CHARS = 2000


def cli_actor() -> str:
    """Who acts from the command line: ``cli:user@host``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    company: str | None,
    result: str,
    detail: str | None = None,
) -> None:
    """Add one audit row to the session's transaction."""
    session.execute(
        insert(AuditEntry).values(
            at=utcnow(),
            actor=actor[:200],
            action=action[:64],
            target=target[:200],
            company_id=company[:64] if company else None,
            result=result[:16],
            detail=detail[:DETAIL_CHARS] if detail else None,
        )
    )


def recent(
    conn: Connection, *, company: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The latest audit rows (of one company's targets, when given), newest first."""
    a = AuditEntry
    stmt = select(a.id, a.at, a.actor, a.action, a.target, a.company_id, a.result, a.detail)
    if company is not None:
        stmt = stmt.where(a.company_id == company)
    rows = conn.execute(stmt.order_by(a.at.desc(), a.id.desc()).limit(limit)).all()
    return [
        {
            "id": int(row.id),
            "at": iso(row.at),
            "actor": row.actor,
            "action": row.action,
            "target": row.target,
            "company_id": row.company_id,
            "result": row.result,
            "detail": row.detail,
        }
        for row in rows
    ]
