"""Helpers for cache tests: a fake clock, a slow processor tier, a metric recorder, seeding."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import update

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.types import Metric
from plugins.common.schema.models import Company as CompanyRow

BACKENDS = ("memory", "disk", "redis")


class FakeClock:
    """A settable wall clock for the cache's TTL arithmetic."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


class SlowProcessorTier:
    """A processor-tier impl that only sleeps: widens the window in which misses overlap."""

    def __init__(self, seconds: float = 0.3) -> None:
        self.seconds = seconds

    @hookimpl
    def get_companies(self, kernel: KernelAPI) -> None:
        """Sleep, then let the original processor answer."""
        time.sleep(self.seconds)


class MetricRecorder:
    """An exporter that keeps every metric it is sent."""

    def __init__(self) -> None:
        self.metrics: list[Metric] = []

    @hookimpl
    def record_metric(self, kernel: KernelAPI, metric: Metric) -> None:
        """Keep the metric."""
        self.metrics.append(metric)


def add_companies(kernel: KernelAPI, *ids: str, status: str = "ACTIVE") -> None:
    """Insert companies straight into the database."""
    with kernel.db.transaction() as session:
        session.add_all(CompanyRow(id=cid, name=f"Company {cid}", status=status) for cid in ids)


def set_status_behind_its_back(kernel: KernelAPI, company_id: str, status: str) -> None:
    """Change a company's status in the database without telling batchkernel."""
    with kernel.db.transaction() as session:
        session.execute(update(CompanyRow).where(CompanyRow.id == company_id).values(status=status))


def ids(companies: Any) -> list[str]:
    """The ids of a company list."""
    return [company.id for company in companies]
