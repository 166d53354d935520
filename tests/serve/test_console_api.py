"""The console API: listings and details for any token, actions only for operator tokens with
the console's header, company-scoped tokens held to their company, every action audited."""

from __future__ import annotations

import json
from typing import Any

from plugins.common.schema.statuses import RequestStatus
from tests.operations.support import audit_rows
from tests.serve.conftest import get
from tests.serve.console_fixtures import (
    OPERATOR,
    READER,
    TENANT,
    TENANT_COMPANY,
    Console,
    console,
    post,
)

__all__ = ["console"]
FAILED = RequestStatus.PROCESSING_FAILED.value
PENDING = RequestStatus.PENDING_BATCHING.value


def _json(answer: tuple[int, Any, bytes]) -> Any:
    return json.loads(answer[2])


def _failed(console: Console, company: str | None = None) -> list[Any]:
    return [
        r
        for r in console.pipeline.requests()
        if r.status == FAILED and (company is None or r.company_id == company)
    ]


def test_listings_filter_and_page_for_a_read_token(console: Console) -> None:
    status, _, body = get(console.url + "/api/requests?state=failed&page_size=500", READER)
    assert status == 200
    listed = json.loads(body)
    assert {r["id"] for r in listed["rows"]} == {r.id for r in _failed(console)}
    assert listed["filters"] == f"state={FAILED}"
    page = _json(get(console.url + "/api/requests?page_size=15&page=2", READER))
    assert len(page["rows"]) == 15 and page["has_next"] is True
    batches = _json(get(console.url + "/api/batches?state=applied", READER))
    assert len(batches["rows"]) == len(console.pipeline.batches())
    bad = get(console.url + "/api/requests?state=done", READER)
    assert bad[0] == 400 and "valid: pending" in _json(bad)["error"]
    assert get(console.url + "/api/requests?colour=red", READER)[0] == 400
    target = _failed(console)[0]
    detail = _json(get(console.url + f"/api/requests/{target.id}", READER))
    assert detail["error"] == target.error and detail["answer"]["status_code"] == 400
    assert get(console.url + "/api/requests/no-such-id", READER)[0] == 404
    assert _json(get(console.url + "/api/whoami", READER))["role"] == "read"


def test_a_read_token_may_not_act_and_nothing_changes(console: Console) -> None:
    target = _failed(console)[0]
    status, _, body = post(console.url + f"/api/requests/{target.id}/retry", READER)
    assert status == 403 and "operator" in json.loads(body)["error"]
    assert {r.id for r in _failed(console)} >= {target.id}
    assert audit_rows(console.pipeline.kernel) == []
    assert get(console.url + f"/api/requests/{target.id}/retry", OPERATOR)[0] == 405


def test_an_operator_retries_with_the_console_header_and_it_is_audited(console: Console) -> None:
    target = _failed(console)[0]
    url = console.url + f"/api/requests/{target.id}/retry"
    status, _, body = post(url, OPERATOR, header=False)
    assert status == 403 and "X-Requested-With" in json.loads(body)["error"]
    status, _, body = post(url, OPERATOR)
    assert status == 200 and json.loads(body)["ok"] is True
    row = {r.id: r for r in console.pipeline.requests()}[target.id]
    assert (row.status, row.attempts) == (PENDING, 0)
    status, _, body = post(url, OPERATOR)
    assert status == 409 and "only failed requests" in json.loads(body)["error"]
    trail = [(a.actor, a.action, a.target, a.result) for a in audit_rows(console.pipeline.kernel)]
    assert trail == [
        ("token:ops", "requests.retry", target.id, "ok"),
        ("token:ops", "requests.retry", target.id, "refused"),
    ]
    shown = _json(get(console.url + "/api/audit", READER))["rows"]
    assert [(a["action"], a["result"]) for a in shown] == [
        ("requests.retry", "refused"),
        ("requests.retry", "ok"),
    ]
    snapshot = _json(get(console.url + "/api/batch-monitoring", READER))
    assert [a["result"] for a in snapshot["audit"]] == ["refused", "ok"]


def test_a_company_operator_acts_on_its_company_only(console: Console) -> None:
    theirs = next(r for r in _failed(console) if r.company_id != TENANT_COMPANY)
    status, _, body = post(console.url + f"/api/requests/{theirs.id}/retry", TENANT)
    assert status == 404 and theirs.company_id not in json.loads(body)["error"]
    assert get(console.url + f"/api/requests/{theirs.id}", TENANT)[0] == 404
    listed = _json(get(console.url + "/api/requests?page_size=500", TENANT))["rows"]
    assert {r["company_id"] for r in listed} == {TENANT_COMPANY}
    assert get(console.url + "/api/requests?company=company-0000", TENANT)[0] == 403
    other = post(console.url + "/api/companies/company-0000/pause", TENANT)
    assert other[0] == 404
    mine = post(console.url + f"/api/companies/{TENANT_COMPANY}/pause", TENANT)
    assert mine[0] == 200
    companies = _json(get(console.url + "/api/companies", TENANT))["rows"]
    assert [(c["id"], c["paused"]) for c in companies] == [(TENANT_COMPANY, True)]
    assert _json(get(console.url + "/api/samples", TENANT))["samples"] == []
    assert _json(get(console.url + "/api/audit", TENANT))["rows"][0]["target"] == TENANT_COMPANY


def test_unknown_actions_and_targets(console: Console) -> None:
    batch = console.pipeline.batches()[0]
    status, _, body = post(console.url + f"/api/batches/{batch.id}/retry", OPERATOR)
    assert status == 404 and "valid: cancel" in json.loads(body)["error"]
    status, _, body = post(console.url + f"/api/batches/{batch.id}/cancel", OPERATOR)
    assert status == 409 and "has ended" in json.loads(body)["error"]
    assert post(console.url + "/api/companies/nobody/resume", OPERATOR)[0] == 404
    assert post(console.url + "/api/requests/x/retry", None)[0] == 401
