"""Azure OpenAI adoption that does not depend on batch metadata: with an emulator that drops it,
a lost create and an unrecorded create are still found again, by their input file."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import pytest

from tests.providers.cases import AZURE_OPENAI, ProviderCase
from tests.providers.checks import COMPLETE, assert_each_request_sent_once, assert_settled


@pytest.fixture
def case() -> ProviderCase:
    """Azure OpenAI on an emulator whose batches keep no metadata."""
    return dataclasses.replace(
        AZURE_OPENAI, defaults={**AZURE_OPENAI.defaults, "keep_batch_metadata": False}
    )


def test_lost_create_is_adopted_by_its_input_file(make_contract: Any, sqlite_url: str) -> None:
    contract = make_contract(sqlite_url, faults={"first_lost_create": 2})
    contract.run()
    assert assert_settled(contract) == Counter({COMPLETE: 20})
    assert contract.injected("lost_create") == 2
    assert_each_request_sent_once(contract)


def test_unrecorded_create_is_adopted_by_its_input_file(
    make_contract: Any, sqlite_url: str
) -> None:
    contract = make_contract(sqlite_url, sessions=10, companies=1)
    kernel = contract.kernel
    (plan,) = kernel.fetch_pending(kernel.get_companies())
    kernel.submit_batch(plan)
    assert contract.scheduler.reconcile_step()["adopted"] == 1
    contract.run()
    assert assert_settled(contract) == Counter({COMPLETE: 10})
    assert len(contract.provider_batches()) == 1
