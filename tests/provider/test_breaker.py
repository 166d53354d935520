"""Unit tests of the per-operation circuit breaker state machine, on a fake clock."""

from __future__ import annotations

import pytest

from plugins.openai_provider.breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    OPERATIONS,
    BreakerBoard,
    CircuitBreaker,
    CircuitOpenError,
)
from tests.provider.support import FakeClock


def _breaker(clock: FakeClock, transitions: list[tuple[str, str]]) -> CircuitBreaker:
    """A breaker with threshold 3 and a 60 s reset that records its transitions."""
    return CircuitBreaker(
        "retrieve",
        threshold=3,
        reset_seconds=60,
        clock=clock,
        on_transition=lambda op, state: transitions.append((op, state)),
    )


def _fail(breaker: CircuitBreaker, times: int) -> None:
    """Record ``times`` failed calls."""
    for _ in range(times):
        breaker.record_failure(breaker.acquire())


def test_opens_after_threshold_consecutive_failures() -> None:
    """Threshold - 1 failures keep it closed; the threshold opens it and calls are refused."""
    clock = FakeClock()
    seen: list[tuple[str, str]] = []
    breaker = _breaker(clock, seen)
    _fail(breaker, 2)
    assert breaker.snapshot()["state"] == CLOSED
    _fail(breaker, 1)
    assert breaker.snapshot() == {"state": OPEN, "failures": 3, "opened_at": clock.now}
    with pytest.raises(CircuitOpenError) as info:
        breaker.acquire()
    assert info.value.retryable is True
    assert info.value.operation == "retrieve"
    assert info.value.retry_in_seconds == pytest.approx(60)
    assert seen == [("retrieve", OPEN)]


def test_success_resets_the_count() -> None:
    """Failures must be consecutive: a success (or a 4xx verdict) in between resets them."""
    breaker = _breaker(FakeClock(), [])
    _fail(breaker, 2)
    breaker.record_success(breaker.acquire())
    _fail(breaker, 2)
    assert breaker.snapshot()["state"] == CLOSED


def test_half_open_allows_one_probe_and_success_closes() -> None:
    """After the reset time one probe goes through; others wait; its success closes the breaker."""
    clock = FakeClock()
    seen: list[tuple[str, str]] = []
    breaker = _breaker(clock, seen)
    _fail(breaker, 3)
    clock.advance(59)
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    clock.advance(1)
    assert breaker.snapshot()["state"] == HALF_OPEN
    probe = breaker.acquire()
    assert probe.probe is True
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    breaker.record_success(probe)
    assert breaker.snapshot() == {"state": CLOSED, "failures": 0, "opened_at": None}
    assert breaker.acquire().probe is False
    assert seen == [("retrieve", OPEN), ("retrieve", HALF_OPEN), ("retrieve", CLOSED)]


def test_failed_probe_reopens_for_a_full_period() -> None:
    """A failed probe re-opens the breaker from the probe's time."""
    clock = FakeClock()
    seen: list[tuple[str, str]] = []
    breaker = _breaker(clock, seen)
    _fail(breaker, 3)
    clock.advance(61)
    breaker.record_failure(breaker.acquire())
    assert breaker.snapshot()["state"] == OPEN
    assert breaker.snapshot()["opened_at"] == clock.now
    clock.advance(59)
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    assert seen == [("retrieve", OPEN), ("retrieve", HALF_OPEN), ("retrieve", OPEN)]


def test_released_probe_lets_the_next_caller_probe() -> None:
    """A probe that ended in a local bug frees its slot without deciding anything."""
    clock = FakeClock()
    breaker = _breaker(clock, [])
    _fail(breaker, 3)
    clock.advance(60)
    breaker.release(breaker.acquire())
    assert breaker.acquire().probe is True


def test_check_refuses_without_taking_the_probe() -> None:
    """``check`` raises while open and never consumes the half-open slot."""
    clock = FakeClock()
    breaker = _breaker(clock, [])
    breaker.check()
    _fail(breaker, 3)
    with pytest.raises(CircuitOpenError):
        breaker.check()
    clock.advance(60)
    breaker.check()
    assert breaker.acquire().probe is True


def test_board_has_one_independent_breaker_per_operation() -> None:
    """Opening one operation's breaker leaves the others closed; reset closes all."""
    clock = FakeClock()
    board = BreakerBoard(clock=clock)
    board.configure(2, 10)
    for _ in range(2):
        board["create"].record_failure(board["create"].acquire())
    states = board.states()
    assert set(states) == set(OPERATIONS)
    assert states["create"]["state"] == OPEN
    assert all(s["state"] == CLOSED for op, s in states.items() if op != "create")
    board.reset()
    assert board.states()["create"]["state"] == CLOSED
