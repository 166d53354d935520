"""Unit tests of the retry loop: attempts, pauses, retry-after, recovery and breaker accounting."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from kernel.types import ProviderError
from plugins.openai_provider.breaker import BreakerBoard, CircuitOpenError
from plugins.openai_provider.calls import Caller, OutcomeUnknownError, ProviderCallError
from plugins.openai_provider.config import ProviderConfig
from plugins.openai_provider.retry import Failure
from tests.provider.support import (
    FakeClock,
    StandInKernel,
    connection_error,
    stand_in_kernel,
    status_error,
)


def _scripted(outcomes: list[object]) -> tuple[Callable[[], str], list[int]]:
    """A call that raises or returns the scripted outcomes in order, counting invocations."""
    calls: list[int] = []

    def call() -> str:
        """Play the next scripted outcome."""
        calls.append(1)
        outcome = outcomes[min(len(calls), len(outcomes)) - 1]
        if isinstance(outcome, BaseException):
            raise outcome
        return str(outcome)

    return call, calls


Setup = tuple[Caller, StandInKernel, ProviderConfig, FakeClock]


@pytest.fixture
def setup() -> Setup:
    """A caller on a fake clock with 3 retries, backoff 1..8 s, breaker threshold 2 / 30 s."""
    clock = FakeClock()
    kernel = stand_in_kernel(
        **{
            "openai.max_retries": 3,
            "openai.backoff_base_seconds": 1,
            "openai.backoff_max_seconds": 8,
            "openai.circuit_failure_threshold": 2,
            "openai.circuit_reset_seconds": 30,
        }
    )
    caller = Caller(BreakerBoard(clock=clock), clock=clock, sleep=clock.sleep, rng=random.Random(3))
    return caller, kernel, ProviderConfig.from_settings(kernel.settings), clock


def test_retries_server_errors_then_succeeds(setup: Setup) -> None:
    """500, 500, then success: three attempts, two jittered pauses within the backoff ceilings."""
    caller, kernel, config, clock = setup
    call, calls = _scripted([status_error(500), status_error(500), "ok"])
    assert caller.run(kernel, config, "retrieve", call) == "ok"
    assert len(calls) == 3
    assert len(clock.sleeps) == 2
    assert 0 <= clock.sleeps[0] <= 1 and 0 <= clock.sleeps[1] <= 2
    assert kernel.values("batchkernel.provider.retries", operation="retrieve") == [1, 1]
    assert len(kernel.values("batchkernel.provider.calls", outcome="server_error")) == 2
    assert len(kernel.values("batchkernel.provider.calls", outcome="ok")) == 1
    assert len(kernel.values("batchkernel.provider.call.duration", operation="retrieve")) == 3


def test_gives_up_after_max_retries_with_a_retryable_error(setup: Setup) -> None:
    """max_retries + 1 attempts, then a retryable ProviderError naming the operation."""
    caller, kernel, config, _ = setup
    call, calls = _scripted([connection_error()])
    with pytest.raises(ProviderCallError) as info:
        caller.run(kernel, config, "retrieve", call)
    assert len(calls) == 4
    assert info.value.retryable is True
    assert info.value.operation == "retrieve"


def test_client_errors_are_not_retried(setup: Setup) -> None:
    """A 400 fails at once, not retryable, and does not count toward the breaker."""
    caller, kernel, config, clock = setup
    call, calls = _scripted([status_error(400)])
    for _ in range(3):
        with pytest.raises(ProviderError) as info:
            caller.run(kernel, config, "create", call)
        assert info.value.retryable is False
    assert len(calls) == 3
    assert clock.sleeps == []
    assert caller.board.states()["create"]["state"] == "closed"


def test_rate_limit_waits_what_the_server_asks(setup: Setup) -> None:
    """A 429 with retry-after 2 s within the cap is waited exactly."""
    caller, kernel, config, clock = setup
    call, _ = _scripted([status_error(429, {"retry-after": "2"}), "ok"])
    assert caller.run(kernel, config, "list", call) == "ok"
    assert clock.sleeps == [2.0]


def test_rate_limit_longer_than_the_cap_raises_without_sleeping(setup: Setup) -> None:
    """A server wait beyond backoff_max: no sleep, a retryable error at once."""
    caller, kernel, config, clock = setup
    call, calls = _scripted([status_error(429, {"retry-after": "120"}), "ok"])
    with pytest.raises(ProviderError) as info:
        caller.run(kernel, config, "list", call)
    assert info.value.retryable is True
    assert len(calls) == 1
    assert clock.sleeps == []


def test_breaker_counts_logical_calls_and_refuses_when_open(setup: Setup) -> None:
    """Two exhausted calls open the breaker (threshold 2); the third is refused without a call."""
    caller, kernel, config, clock = setup
    call, calls = _scripted([status_error(503)])
    for _ in range(2):
        with pytest.raises(ProviderCallError):
            caller.run(kernel, config, "retrieve", call)
    assert len(calls) == 8
    with pytest.raises(CircuitOpenError):
        caller.run(kernel, config, "retrieve", call)
    assert len(calls) == 8
    assert kernel.values("batchkernel.provider.calls", outcome="circuit_open") == [1]
    clock.advance(30)
    with pytest.raises(ProviderCallError):
        caller.run(kernel, config, "retrieve", call)
    assert len(calls) == 9, "a half-open probe is a single attempt"
    assert caller.board.states()["retrieve"]["state"] == "open"
    clock.advance(30)
    ok, _ = _scripted(["ok"])
    assert caller.run(kernel, config, "retrieve", ok) == "ok"
    assert caller.board.states()["retrieve"]["state"] == "closed"


def test_recover_adopts_after_an_ambiguous_failure(setup: Setup) -> None:
    """After a lost answer the lookup runs before any repeat; a hit ends the call."""
    caller, kernel, config, _ = setup
    call, calls = _scripted([connection_error(), "second"])
    seen: list[str] = []

    def recover(failure: Failure) -> str:
        """Pretend the lookup found the created object."""
        seen.append(failure.kind)
        return "found"

    assert caller.run(kernel, config, "create", call, recover=recover) == "found"
    assert len(calls) == 1
    assert seen == ["connection"]


def test_recover_is_not_called_for_rate_limits(setup: Setup) -> None:
    """A 429 means the server did not act: no lookup, plain retry."""
    caller, kernel, config, _ = setup
    call, calls = _scripted([status_error(429), "created"])
    seen: list[object] = []
    result = caller.run(kernel, config, "create", call, recover=lambda f: seen.append(f))
    assert result == "created"
    assert seen == []
    assert len(calls) == 2


def test_failed_lookup_makes_the_outcome_unknown(setup: Setup) -> None:
    """If the lookup itself fails, the create is not repeated and the error says so."""
    caller, kernel, config, _ = setup
    call, calls = _scripted([status_error(500), "created"])

    def recover(failure: Failure) -> str | None:
        """Pretend the lookup itself failed."""
        raise ProviderError("list down", retryable=True, operation="list")

    with pytest.raises(OutcomeUnknownError) as info:
        caller.run(kernel, config, "create", call, recover=recover)
    assert len(calls) == 1
    assert info.value.retryable is True
    assert "outcome unknown" in str(info.value)


def test_foreign_exceptions_propagate_and_free_the_probe(setup: Setup) -> None:
    """A bug in the callable is not retried and does not leave a half-open probe stuck."""
    caller, kernel, config, clock = setup
    failing, _ = _scripted([status_error(500)])
    for _ in range(2):
        with pytest.raises(ProviderCallError):
            caller.run(kernel, config, "cancel", failing)
    clock.advance(30)
    buggy, calls = _scripted([KeyError("bug")])
    with pytest.raises(KeyError):
        caller.run(kernel, config, "cancel", buggy)
    assert len(calls) == 1
    ok, _ = _scripted(["ok"])
    assert caller.run(kernel, config, "cancel", ok) == "ok"
