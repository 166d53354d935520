"""Operator actions on both databases: conditional, scoped, audited, and seen by the pipeline."""

from __future__ import annotations

from typing import Any

import pytest

from plugins.common.operations import actions
from plugins.common.operations.actions import Actor
from plugins.common.operations.filters import Filters
from plugins.common.schema.statuses import RequestStatus
from plugins.emulator import EmulatorConfig
from tests.operations.support import FAILING, audit_rows, by_state
from tests.serve.conftest import queue_more

FAILED = RequestStatus.PROCESSING_FAILED.value
PENDING = RequestStatus.PENDING_BATCHING.value
COMPLETE = RequestStatus.PROCESSING_COMPLETE.value
OPERATOR = Actor("cli:tester@host")


@pytest.fixture
def processor() -> str:
    """Actions do not depend on the processor; pausing is tested with both below."""
    return "optimized"


def test_retry_makes_a_failed_request_pending_and_the_pipeline_completes_it(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(db_url, sessions=24, companies=2, config=FAILING)
    pipeline.run()
    failed = by_state(pipeline, FAILED)
    assert failed, "the emulator refused no answer"
    target = failed[0]
    assert target.error and target.raw_answer and '"status_code":400' in target.raw_answer

    outcome = actions.retry_request(pipeline.kernel, OPERATOR, target.id)
    assert outcome.ok and outcome.changed == 1, outcome.message
    again = {r.id: r for r in pipeline.requests()}[target.id]
    assert (again.status, again.attempts, again.error, again.batch_id) == (PENDING, 0, None, None)

    second = actions.retry_request(pipeline.kernel, OPERATOR, target.id)
    assert (second.ok, second.status) == (False, 409)
    assert "only failed requests can be retried" in second.message

    pipeline.server.configure(rate_line_error=0.0)
    pipeline.run()
    assert {r.id: r for r in pipeline.requests()}[target.id].status == COMPLETE
    trail = [(a.actor, a.action, a.target, a.result) for a in audit_rows(pipeline.kernel)]
    assert trail == [
        (OPERATOR.name, "requests.retry", target.id, "ok"),
        (OPERATOR.name, "requests.retry", target.id, "refused"),
    ]


def test_bulk_retry_is_one_statement_limited_by_the_filters(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(db_url, sessions=30, companies=3, config=FAILING)
    pipeline.run()
    failed = by_state(pipeline, FAILED)
    company = failed[0].company_id
    mine = [r for r in failed if r.company_id == company]
    kernel = pipeline.kernel
    with kernel.db.queries.measure() as measured:
        outcome = actions.retry_matching(kernel, OPERATOR, Filters(company=company))
    assert outcome.changed == len(mine)
    assert measured["queries"] == 2  # the UPDATE and its audit row
    still_failed = {r.id for r in by_state(pipeline, FAILED)}
    assert still_failed == {r.id for r in failed if r.company_id != company}


def test_cancel_closes_a_pending_request_and_refuses_one_in_a_batch(
    make_pipeline: Any, db_url: str, tmp_path: Any
) -> None:
    pipeline = make_pipeline(db_url, sessions=6, companies=1)
    pipeline.run()
    kernel = pipeline.kernel
    queue_more(kernel, tmp_path / "more.jsonl", {"company-0000": 2})
    pending = by_state(pipeline, PENDING)
    outcome = actions.cancel_request(kernel, OPERATOR, pending[0].id)
    assert outcome.ok
    row = {r.id: r for r in pipeline.requests()}[pending[0].id]
    assert row.status == FAILED and row.error == f"cancelled by {OPERATOR.name}"
    done = by_state(pipeline, COMPLETE)[0]
    refused = actions.cancel_request(kernel, OPERATOR, done.id)
    assert (refused.ok, refused.status) == (False, 409)


def test_a_company_scoped_actor_cannot_touch_another_company(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(db_url, sessions=20, companies=2, config=FAILING)
    pipeline.run()
    failed = by_state(pipeline, FAILED)
    other = failed[0]
    scoped = Actor("token:tenant", company="not-" + other.company_id)
    outcome = actions.retry_request(pipeline.kernel, scoped, other.id)
    assert (outcome.ok, outcome.status) == (False, 404)
    assert other.company_id not in outcome.message
    paused = actions.set_paused(pipeline.kernel, scoped, other.company_id, True)
    assert (paused.ok, paused.status) == (False, 404)
    assert by_state(pipeline, FAILED)[0].status == FAILED
    assert [a.result for a in audit_rows(pipeline.kernel)] == ["refused", "refused"]


def test_cancel_batch_refuses_an_ended_batch(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(db_url, sessions=6, companies=1)
    pipeline.run()
    batch = pipeline.batches()[0]
    outcome = actions.cancel_batch(pipeline.kernel, OPERATOR, batch.id)
    assert (outcome.ok, outcome.status) == (False, 409)
    assert "has ended" in outcome.message
    missing = actions.cancel_batch(pipeline.kernel, OPERATOR, "no-such-batch")
    assert (missing.ok, missing.status) == (False, 404)


def test_cancel_a_batch_at_the_provider_and_nothing_is_stranded(
    make_pipeline: Any, db_url: str
) -> None:
    slow = EmulatorConfig(seed=1, in_progress_seconds=3600)
    pipeline = make_pipeline(db_url, sessions=10, companies=1, config=slow)
    pipeline.scheduler.run_task("create")
    pipeline.scheduler.run_task("poll")
    batch = pipeline.batches()[0]
    assert batch.status in ("VALIDATING", "IN_PROGRESS")
    outcome = actions.cancel_batch(pipeline.kernel, OPERATOR, batch.id)
    assert outcome.ok, outcome.message
    assert pipeline.batches()[0].status in ("CANCELLING", "CANCELLED")
    pipeline.server.configure(in_progress_seconds=0)
    pipeline.run()
    assert {r.status for r in pipeline.requests()} == {COMPLETE}
    assert [(a.action, a.result) for a in audit_rows(pipeline.kernel)] == [("batches.cancel", "ok")]
