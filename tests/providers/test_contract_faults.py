"""Contract: faults every provider plugin must survive, each through its real SDK against its
emulator, on SQLite and PostgreSQL: nothing lost, nothing duplicated, attempts spent only where
the request itself is to blame."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.providers.cases import ProviderCase
from tests.providers.checks import (
    COMPLETE,
    FAILED,
    assert_answers_on_their_sessions,
    assert_each_request_sent_once,
    assert_settled,
)


def test_429_and_5xx_are_retried(make_contract: Any, db_url: str) -> None:
    contract = make_contract(
        db_url,
        faults={
            "first_429": {"create": 2, "poll": 1},
            "first_500": {"upload": 1, "poll": 2, "download": 1},
            "retry_after_seconds": 0.01,
        },
    )
    contract.run()
    assert assert_settled(contract) == Counter({COMPLETE: 20})
    assert_each_request_sent_once(contract)
    assert contract.injected("429") >= 2 and contract.injected("500") >= 2
    assert all(r.attempts == 0 for r in contract.requests())


def test_lost_create_is_adopted_not_repeated(make_contract: Any, db_url: str) -> None:
    contract = make_contract(db_url, faults={"first_lost_create": 2})
    contract.run()
    assert assert_settled(contract) == Counter({COMPLETE: 20})
    assert contract.injected("lost_create") == 2
    assert_each_request_sent_once(contract)
    local = {b.provider_batch_id for b in contract.batches() if b.provider_batch_id}
    assert {b.id for b in contract.provider_batches()} == local


def test_expiry_applies_partial_results_and_requeues_the_rest(
    make_contract: Any, db_url: str
) -> None:
    contract = make_contract(
        db_url,
        sessions=10,
        companies=1,
        faults={"first_expire": 1, "expire_done_fraction": 0.5},
    )
    contract.run()
    assert assert_settled(contract) == Counter({COMPLETE: 10})
    assert all(r.attempts == 0 for r in contract.requests())
    provider = contract.provider_batches()
    expired = [b for b in provider if b.status == "expired"]
    assert len(expired) == 1 and len(provider) == 2
    again = {rid for b in provider if b.status == "completed" for rid in b.request_ids}
    assert 0 < len(again) < 10, "only the unfinished half goes again"
    assert_answers_on_their_sessions(contract)


def test_final_line_errors_fail_only_their_requests(
    make_contract: Any, case: ProviderCase, db_url: str
) -> None:
    contract = make_contract(db_url, faults={"seed": 5, **case.line_errors(False)})
    contract.run()
    statuses = assert_settled(contract)
    assert 0 < statuses[FAILED] < 20 and statuses[COMPLETE] == 20 - statuses[FAILED]
    failed = [r for r in contract.requests() if r.status == FAILED]
    assert all(r.error and r.attempts == 1 for r in failed)


def test_retryable_line_errors_are_retried(
    make_contract: Any, case: ProviderCase, db_url: str
) -> None:
    contract = make_contract(
        db_url,
        faults={"seed": 6, **case.line_errors(True)},
        batch__max_attempts=10,
    )
    contract.run()
    assert assert_settled(contract) == Counter({COMPLETE: 20})
    assert any(r.attempts > 0 for r in contract.requests())


def test_validation_failure_goes_again(make_contract: Any, db_url: str) -> None:
    """A batch the provider refuses as a whole (failed validation, or a create rejected before
    any batch exists) spends at most one attempt of its requests, which then go again."""
    contract = make_contract(
        db_url, sessions=10, companies=1, faults={"first_validation_failure": 1}
    )
    contract.run()
    assert assert_settled(contract) == Counter({COMPLETE: 10})
    assert contract.injected("validation_failure") == 1
    assert all(r.attempts <= 1 for r in contract.requests())
    assert [b.status for b in contract.provider_batches()].count("completed") == 1
