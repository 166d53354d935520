"""A paused company is claimed by neither processor; its batches at the provider finish; resume
lets its requests go out again."""

from __future__ import annotations

from typing import Any

from kernel.types import BatchStatus
from plugins.common.operations import actions
from plugins.common.operations.actions import Actor
from plugins.common.schema.statuses import RequestStatus
from tests.serve.conftest import queue_more

OPERATOR = Actor("cli:tester@host")
IN_FLIGHT = {s.value for s in (BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS)}


def test_paused_company_is_not_claimed_and_its_batches_finish(
    make_pipeline: Any, db_url: str, tmp_path: Any
) -> None:
    pipeline = make_pipeline(db_url, sessions=20, companies=2)
    kernel = pipeline.kernel
    scheduler = pipeline.scheduler
    scheduler.run_task("create")
    out = [b for b in pipeline.batches() if b.status in IN_FLIGHT]
    assert {b.company_id for b in out} == {"company-0000", "company-0001"}

    assert actions.set_paused(kernel, OPERATOR, "company-0000", True).ok
    again = actions.set_paused(kernel, OPERATOR, "company-0000", True)
    assert (again.ok, again.status) == (False, 409)
    queue_more(kernel, tmp_path / "more.jsonl", {"company-0000": 4, "company-0001": 3})
    pipeline.run()

    states: dict[str, set[str]] = {}
    for request in pipeline.requests():
        states.setdefault(request.company_id, set()).add(request.status)
    assert states["company-0001"] == {RequestStatus.PROCESSING_COMPLETE.value}
    assert states["company-0000"] == {
        RequestStatus.PROCESSING_COMPLETE.value,
        RequestStatus.PENDING_BATCHING.value,
    }, "the paused company's batches at the provider did not finish, or new work was claimed"
    pending = [r for r in pipeline.requests() if r.status == RequestStatus.PENDING_BATCHING.value]
    assert {r.company_id for r in pending} == {"company-0000"} and len(pending) == 4

    assert actions.set_paused(kernel, OPERATOR, "company-0000", False).ok
    pipeline.run()
    assert {r.status for r in pipeline.requests()} == {RequestStatus.PROCESSING_COMPLETE.value}
    answers = [r.raw_answer for r in pipeline.requests()]
    assert all(a and '"status_code":200' in a for a in answers), "an answer was not kept"
