"""Per-operation circuit breakers: closed, open for ``reset_seconds``, then one half-open probe."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kernel.types import ProviderError

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"

STATE_GAUGE = {CLOSED: 0.0, OPEN: 1.0, HALF_OPEN: 0.5}
"""Value of the ``batchkernel.provider.circuit.state`` gauge for each state."""
BREAKER_RANK = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}
"""How bad each state is, to report the worst of several instances."""

OPERATIONS = ("upload", "create", "retrieve", "list", "cancel", "download", "delete")
"""Every provider operation that has its own breaker."""

TransitionListener = Callable[[str, str], None]


class CircuitOpenError(ProviderError):
    """Calls to one provider operation are paused after repeated failures (retryable)."""

    def __init__(self, operation: str, retry_in_seconds: float) -> None:
        super().__init__(
            f"circuit for provider operation {operation!r} is open; next try in "
            f"{retry_in_seconds:.0f}s",
            retryable=True,
            operation=operation,
        )
        self.retry_in_seconds = retry_in_seconds


@dataclass(frozen=True, slots=True)
class Permit:
    """Leave to make one logical call; ``probe`` means it is the single half-open trial."""

    operation: str
    probe: bool


class CircuitBreaker:
    """One operation's breaker; thread-safe, clock injectable, thresholds settable at any time.

    Only retryable failures (connection, timeout, 408/409/429/5xx) count. A call that gets any
    answer the server meant (success or a 4xx verdict) resets the count: the service is up.
    """

    def __init__(
        self,
        operation: str,
        *,
        threshold: int = 5,
        reset_seconds: float = 300.0,
        clock: Callable[[], float] = time.time,
        on_transition: TransitionListener | None = None,
    ) -> None:
        self.operation = operation
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._on_transition = on_transition
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_out = False

    def configure(self, threshold: int, reset_seconds: float) -> None:
        """Apply the current settings (read per call so a settings change takes effect)."""
        self.threshold = max(1, threshold)
        self.reset_seconds = max(0.0, reset_seconds)

    def acquire(self) -> Permit:
        """Permission to call, or :class:`CircuitOpenError` without touching the server."""
        with self._lock:
            if self._state == OPEN:
                opened_at = self._opened_at if self._opened_at is not None else 0.0
                remaining = opened_at + self.reset_seconds - self._clock()
                if remaining > 0:
                    raise CircuitOpenError(self.operation, remaining)
                self._move(HALF_OPEN)
            if self._state == HALF_OPEN:
                if self._probe_out:
                    raise CircuitOpenError(self.operation, 0.0)
                self._probe_out = True
                return Permit(self.operation, probe=True)
            return Permit(self.operation, probe=False)

    def check(self) -> None:
        """Raise :class:`CircuitOpenError` if a call now would be refused (takes no probe slot)."""
        with self._lock:
            if self._state == OPEN and self._opened_at is not None:
                remaining = self._opened_at + self.reset_seconds - self._clock()
                if remaining > 0:
                    raise CircuitOpenError(self.operation, remaining)

    def record_success(self, permit: Permit) -> None:
        """The service answered: reset the failure count and close a half-open breaker."""
        with self._lock:
            self._failures = 0
            if permit.probe:
                self._probe_out = False
            if self._state != CLOSED:
                self._opened_at = None
                self._move(CLOSED)

    def record_failure(self, permit: Permit) -> None:
        """A retryable failure: count it; open at the threshold, or re-open after a failed probe."""
        with self._lock:
            self._failures += 1
            if permit.probe:
                self._probe_out = False
            if self._state == HALF_OPEN or (
                self._state == CLOSED and self._failures >= self.threshold
            ):
                self._opened_at = self._clock()
                self._move(OPEN)

    def release(self, permit: Permit) -> None:
        """The call ended in a way that says nothing about the service (a local bug): free the probe."""
        with self._lock:
            if permit.probe:
                self._probe_out = False

    def snapshot(self) -> dict[str, object]:
        """State, consecutive failures and when it last opened (clock time, ``None`` if closed)."""
        with self._lock:
            state = self._state
            if (
                state == OPEN
                and self._opened_at is not None
                and self._clock() >= self._opened_at + self.reset_seconds
            ):
                state = HALF_OPEN
            return {"state": state, "failures": self._failures, "opened_at": self._opened_at}

    def _move(self, state: str) -> None:
        """Change state (lock held) and tell the listener."""
        if state == self._state:
            return
        self._state = state
        if self._on_transition is not None:
            self._on_transition(self.operation, state)


class BreakerBoard:
    """The set of breakers of one provider instance, one per operation."""

    def __init__(
        self,
        operations: Iterable[str] = OPERATIONS,
        *,
        clock: Callable[[], float] = time.time,
        on_transition: TransitionListener | None = None,
    ) -> None:
        self._clock = clock
        self._on_transition = on_transition
        self._operations = tuple(operations)
        self._breakers = self._fresh()

    def _fresh(self) -> dict[str, CircuitBreaker]:
        """New closed breakers for every operation."""
        return {
            op: CircuitBreaker(op, clock=self._clock, on_transition=self._on_transition)
            for op in self._operations
        }

    def __getitem__(self, operation: str) -> CircuitBreaker:
        """The breaker of ``operation``."""
        return self._breakers[operation]

    def configure(self, threshold: int, reset_seconds: float) -> None:
        """Apply settings to every breaker."""
        for breaker in self._breakers.values():
            breaker.configure(threshold, reset_seconds)

    def reset(self) -> None:
        """Close every breaker (the endpoint or credentials changed: a different service)."""
        self._breakers = self._fresh()

    def states(self) -> dict[str, dict[str, object]]:
        """Snapshot of every breaker, for ``batchkernel status``."""
        return {op: breaker.snapshot() for op, breaker in self._breakers.items()}
