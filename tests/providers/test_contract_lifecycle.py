"""Contract: the whole lifecycle on every provider plugin, through its real SDK against its
emulator, on SQLite and PostgreSQL; results in any order; provider-side cleanup."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.providers.checks import (
    COMPLETE,
    assert_answers_on_their_sessions,
    assert_each_request_sent_once,
    assert_settled,
)


def test_complete_lifecycle(make_contract: Any, db_url: str) -> None:
    contract = make_contract(db_url, sessions=24, companies=2)
    contract.run()
    assert assert_settled(contract) == Counter({COMPLETE: 24})
    assert_answers_on_their_sessions(contract)
    assert_each_request_sent_once(contract)
    batches = contract.batches()
    assert len(batches) == 4 and all(b.request_count <= 10 for b in batches)
    assert {b.provider for b in batches} == {contract.case.name}
    assert {b.status for b in contract.provider_batches()} == {"completed"}


def test_shuffled_results_land_on_their_requests(make_contract: Any, db_url: str) -> None:
    contract = make_contract(db_url, faults={"shuffle_output": True})
    contract.run()
    assert assert_settled(contract) == Counter({COMPLETE: 20})
    assert_answers_on_their_sessions(contract)


def test_cleanup_leaves_nothing_of_ours_at_the_provider(make_contract: Any, db_url: str) -> None:
    contract = make_contract(db_url)
    contract.run()
    assert_settled(contract)
    assert contract.provider_batches()
    assert contract.remaining() == []
