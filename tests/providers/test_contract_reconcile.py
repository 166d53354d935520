"""Contract: reconciliation on every provider plugin: a create whose answer the pipeline never
recorded is found again (``find_batch``) instead of repeated, a plan that never reached the
provider goes back to the queue, an overdue batch is cancelled and its requests go again, and
polls that keep failing (an open circuit, where the plugin has breakers) never fail a running
batch."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from kernel.types import BatchStatus
from plugins.common.schema.models import AIBatchRequest
from plugins.common.schema.statuses import RequestStatus
from tests.providers.cases import ProviderCase
from tests.providers.checks import COMPLETE, assert_each_request_sent_once, assert_settled

IN_FLIGHT = RequestStatus.BATCHING_IN_PROGRESS.value


def test_create_the_pipeline_never_recorded_is_adopted(make_contract: Any, db_url: str) -> None:
    contract = make_contract(db_url, sessions=10, companies=1)
    kernel = contract.kernel
    (plan,) = kernel.fetch_pending(kernel.get_companies())
    kernel.submit_batch(plan)
    assert [b.status for b in contract.batches()] == [BatchStatus.PLANNED.value]
    assert contract.scheduler.reconcile_step()["adopted"] == 1
    contract.run()
    assert assert_settled(contract) == Counter({COMPLETE: 10})
    assert len(contract.provider_batches()) == 1
    assert_each_request_sent_once(contract)


def test_plan_that_never_reached_the_provider_goes_back(make_contract: Any, db_url: str) -> None:
    contract = make_contract(db_url, sessions=10, companies=1)
    kernel = contract.kernel
    (plan,) = kernel.fetch_pending(kernel.get_companies())
    assert contract.scheduler.reconcile_step()["abandoned"] == 1
    assert not plan.input_path.exists()
    requests = contract.requests()
    assert {r.status for r in requests} == {RequestStatus.PENDING_BATCHING.value}
    assert all(r.attempts == 0 for r in requests)
    contract.run()
    assert assert_settled(contract) == Counter({COMPLETE: 10})
    assert len(contract.provider_batches()) == 1


def test_overdue_batch_is_cancelled_and_its_requests_go_again(
    make_contract: Any, db_url: str
) -> None:
    contract = make_contract(db_url, sessions=10, companies=1, faults={"in_progress_seconds": 3600})
    scheduler = contract.scheduler
    scheduler.run_task("create")
    scheduler.run_task("poll")
    with contract.kernel.db.transaction() as session:
        session.execute(
            update(AIBatchRequest).values(submitted_at=datetime.now(UTC) - timedelta(hours=27))
        )
    assert scheduler.reconcile_step()["cancelled"] == 1
    contract.server.configure(in_progress_seconds=0)
    contract.run()
    assert assert_settled(contract) == Counter({COMPLETE: 10})
    assert all(r.attempts == 0 for r in contract.requests())
    assert sorted(b.status for b in contract.provider_batches()) == ["cancelled", "completed"]


def test_failing_polls_never_fail_a_running_batch(
    make_contract: Any, case: ProviderCase, db_url: str
) -> None:
    contract = make_contract(
        db_url,
        sessions=10,
        companies=1,
        faults={"first_500": {"poll": 50}},
        **case.prefixed(case.no_retries),
    )
    scheduler = contract.scheduler
    scheduler.run_task("create")
    for _ in range(4):
        assert scheduler.run_task("poll").counts["poll_failures"] == 1
    assert {r.status for r in contract.requests()} == {IN_FLIGHT}
    assert [b.status for b in contract.provider_batches()] != ["failed"]
    local = contract.batches()
    assert len(local) == 1 and local[0].provider_batch_id
    assert local[0].status not in (BatchStatus.FAILED.value, BatchStatus.ABANDONED.value)
    contract.server.configure(first_500={})
    contract.run()
    assert assert_settled(contract) == Counter({COMPLETE: 10})
