"""Which planned batches reconcile may take: its own or ownerless ones past the grace period, and
a dead instance's after its lease; never a live instance's (it may still be submitting them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from kernel.db.models import SchedulerInstance
from kernel.scheduler import Scheduler
from kernel.types import BatchPlan
from plugins.common.schema.models import AIBatchRequest
from tests.reliability.support import load


def test_reconcile_takes_own_and_dead_plans_but_never_a_live_instances(
    make_kernel: Any, db_url: str, tmp_path: Path
) -> None:
    load(db_url, tmp_path, sessions=30, companies=3)
    kernel = make_kernel(
        db_url,
        plugins__cache="none",
        batch__min_batch_size=1,
        batch__stale_plan_seconds=60,
        scheduler__lease_seconds=5,
    )
    live, dead, me = (Scheduler(kernel) for _ in range(3))
    plans: dict[str, BatchPlan] = {}
    for name, scheduler in (("live", live), ("dead", dead), ("me", me)):
        scheduler.start_instance()
        assert scheduler.instance is not None
        kernel.instance_id = scheduler.instance.id
        company = kernel.get_companies()[len(plans)]
        (plans[name],) = kernel.fetch_pending([company])
    assert dead.heartbeat is not None and dead.instance is not None
    assert live.heartbeat is not None
    dead.heartbeat.stop()
    live.heartbeat.beat()
    with kernel.db.transaction() as session:
        session.execute(
            update(AIBatchRequest).values(created_at=datetime.now(UTC) - timedelta(hours=1))
        )
        session.execute(
            update(SchedulerInstance)
            .where(SchedulerInstance.id == dead.instance.id)
            .values(heartbeat_at=datetime.now(UTC) - timedelta(seconds=30))
        )
    stale = {plan.batch_id for plan in kernel.fetch_stale_plans(60)}
    assert stale == {plans["dead"].batch_id, plans["me"].batch_id}
    kernel.instance_id = None
    stale = {plan.batch_id for plan in kernel.fetch_stale_plans(60)}
    assert stale == {plans["dead"].batch_id}
    for scheduler in (live, me):
        scheduler.stop_instance()
