"""Database work behind ``batchkernel companies``: list tenants, change one tenant's status."""

from __future__ import annotations

from sqlalchemy import select, update

from kernel.api import KernelAPI
from plugins.common import calls
from plugins.common.schema.models import Company as CompanyRow
from plugins.common.schema.statuses import CompanyStatus


def list_companies(
    kernel: KernelAPI,
) -> list[tuple[str, str, str, str | None, tuple[str, ...]]]:
    """Every company as (id, name, status, paused since or None, own providers), by id,
    straight from the database (not the cache)."""
    with kernel.db.transaction() as session:
        rows = session.execute(
            select(
                CompanyRow.id,
                CompanyRow.name,
                CompanyRow.status,
                CompanyRow.paused_at,
                CompanyRow.providers,
            ).order_by(CompanyRow.id)
        ).all()
    return [
        (
            row.id,
            row.name,
            row.status,
            f"{row.paused_at:%Y-%m-%d %H:%M}" if row.paused_at else None,
            tuple(row.providers or ()),
        )
        for row in rows
    ]


def set_company_status(kernel: KernelAPI, company_id: str, status: CompanyStatus) -> str | None:
    """Set one company's status and tell the plugins (caches drop their list); the old status.

    ``None`` when no such company exists (nothing changed, nobody told).
    """
    with kernel.db.transaction() as session:
        old = session.scalar(
            select(CompanyRow.status).where(CompanyRow.id == company_id).with_for_update()
        )
        if old is None:
            return None
        session.execute(
            update(CompanyRow).where(CompanyRow.id == company_id).values(status=status.value)
        )
    calls.companies_changed(kernel, [company_id])
    return str(old)
