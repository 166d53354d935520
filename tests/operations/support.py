"""Helpers for the operator tests: a pipeline with failures, rows by state, audit rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from plugins.common.schema.models import AIProcessingRequest, AuditEntry
from plugins.emulator import EmulatorConfig

FAILING = EmulatorConfig(seed=1, rate_line_error=0.25, line_error_status=400)


def by_state(pipeline: Any, state: str) -> list[AIProcessingRequest]:
    """The pipeline's requests in one state."""
    return [r for r in pipeline.requests() if r.status == state]


def audit_rows(kernel: Any) -> list[AuditEntry]:
    """Every audit row, oldest first."""
    with kernel.db.transaction() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
