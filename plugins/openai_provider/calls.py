"""Runs one provider operation: breaker check, attempts with metrics, our own retry loop."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from kernel.api import Reporting
from kernel.types import ProviderError
from plugins.openai_provider.breaker import BreakerBoard, CircuitOpenError, Permit
from plugins.openai_provider.config import ProviderConfig
from plugins.openai_provider.retry import Failure, classify, retry_delay

T = TypeVar("T")

CALLS = "batchkernel.provider.calls"
DURATION = "batchkernel.provider.call.duration"
RETRIES = "batchkernel.provider.retries"


class ProviderCallError(ProviderError):
    """A provider call that failed for good; ``failure`` tells how (kind, status, ambiguity)."""

    def __init__(
        self,
        operation: str,
        failure: Failure,
        *,
        retryable: bool | None = None,
        message: str | None = None,
        url: str = "",
    ) -> None:
        where = f" at {url}" if url else ""
        super().__init__(
            message or f"provider {operation}{where} failed ({failure.kind}): {failure.message}",
            retryable=failure.retryable if retryable is None else retryable,
            operation=operation,
            condition=failure.condition,
        )
        self.failure = failure


class OutcomeUnknownError(ProviderCallError):
    """An ambiguous failure whose outcome could not be checked (the lookup failed too)."""

    def __init__(self, operation: str, failure: Failure, lookup_error: ProviderError) -> None:
        super().__init__(
            operation,
            failure,
            retryable=True,
            message=(
                f"provider {operation} outcome unknown ({failure.kind}: {failure.message}); "
                f"lookup failed: {lookup_error}"
            ),
        )
        self.lookup_error = lookup_error


class _AttemptFailed(Exception):
    """Internal: one attempt failed with a classified failure."""

    def __init__(self, failure: Failure, cause: BaseException) -> None:
        super().__init__(failure.message)
        self.failure = failure
        self.cause = cause


class Caller:
    """Executes SDK calls for the provider; everything about timing is injectable for tests."""

    def __init__(
        self,
        board: BreakerBoard,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        perf_counter: Callable[[], float] = time.perf_counter,
        on_condition: Callable[[Reporting, str, Failure], None] | None = None,
        provider: str = "openai",
    ) -> None:
        self.board = board
        self.provider = provider
        """The provider these calls go to (the ``provider`` label of their metrics)."""
        self.on_condition = on_condition
        """Told (kernel, operation, failure) of every failure that concerns the whole provider
        (a quota condition), so creation can pause."""
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.perf_counter = perf_counter

    def attempt(self, kernel: Reporting, operation: str, fn: Callable[[], T]) -> T:
        """Make one call and record its outcome and duration; classified failures are wrapped."""
        started = self.perf_counter()
        outcome = "ok"
        try:
            return fn()
        except Exception as exc:
            failure = classify(exc, now=self.clock)
            if failure is None:
                outcome = "error"
                raise
            outcome = failure.kind
            raise _AttemptFailed(failure, exc) from exc
        finally:
            elapsed = self.perf_counter() - started
            labels = {"operation": operation, "outcome": outcome, "provider": self.provider}
            kernel.metric(CALLS, 1, kind="counter", **labels)
            kernel.metric(DURATION, elapsed, kind="histogram", unit="s", **labels)

    def run(
        self,
        kernel: Reporting,
        config: ProviderConfig,
        operation: str,
        fn: Callable[[], T],
        *,
        recover: Callable[[Failure], T | None] | None = None,
    ) -> T:
        """Call ``fn`` under ``operation``'s breaker, retrying retryable failures with backoff.

        ``recover`` runs after every *ambiguous* failure (the server may have acted), after the
        backoff pause: if it returns a value, that is the result and no further attempt is made.
        A half-open breaker allows a single attempt (the probe). Raises :class:`CircuitOpenError`
        when the breaker is open, :class:`ProviderCallError` when the call failed for good.
        """
        breaker = self.board[operation]
        breaker.configure(config.circuit_failure_threshold, config.circuit_reset_seconds)
        try:
            permit = breaker.acquire()
        except CircuitOpenError:
            kernel.metric(
                CALLS,
                1,
                kind="counter",
                operation=operation,
                outcome="circuit_open",
                provider=self.provider,
            )
            raise
        settled = False
        try:
            result = self._loop(kernel, config, operation, fn, recover, permit)
            breaker.record_success(permit)
            settled = True
            return result
        except ProviderCallError as exc:
            if exc.failure.retryable:
                breaker.record_failure(permit)
            else:
                breaker.record_success(permit)
            settled = True
            raise
        finally:
            if not settled:
                breaker.release(permit)

    def _loop(
        self,
        kernel: Reporting,
        config: ProviderConfig,
        operation: str,
        fn: Callable[[], T],
        recover: Callable[[Failure], T | None] | None,
        permit: Permit,
    ) -> T:
        """The attempts of one logical call (breaker accounting is the caller's)."""
        attempts = 1 if permit.probe else config.max_retries + 1
        attempt = 0
        while True:
            try:
                return self.attempt(kernel, operation, fn)
            except _AttemptFailed as failed:
                failure = failed.failure
                if failure.condition is not None and self.on_condition is not None:
                    self.on_condition(kernel, operation, failure)
                if not failure.retryable:
                    raise ProviderCallError(
                        operation, failure, url=config.base_url
                    ) from failed.cause
                last = attempt + 1 >= attempts
                delay = None
                if not last:
                    delay = retry_delay(
                        failure,
                        attempt,
                        config.backoff_base_seconds,
                        config.backoff_max_seconds,
                        self.rng,
                    )
                if delay is not None:
                    kernel.log.info(
                        "provider %s failed (%s: %s); retry %d/%d in %.2fs",
                        operation,
                        failure.kind,
                        failure.message,
                        attempt + 1,
                        attempts - 1,
                        delay,
                    )
                    self.sleep(delay)
                if failure.ambiguous and recover is not None:
                    try:
                        recovered = recover(failure)
                    except ProviderError as lookup_error:
                        raise OutcomeUnknownError(
                            operation, failure, lookup_error
                        ) from lookup_error
                    if recovered is not None:
                        return recovered
                if delay is None:
                    if not last:
                        kernel.log.warning(
                            "provider %s: server asks to wait %.0fs (> backoff_max %.0fs); "
                            "giving up for now",
                            operation,
                            failure.retry_after or 0.0,
                            config.backoff_max_seconds,
                        )
                    raise ProviderCallError(
                        operation, failure, url=config.base_url
                    ) from failed.cause
                kernel.metric(
                    RETRIES,
                    1,
                    kind="counter",
                    operation=operation,
                    reason=failure.kind,
                    provider=self.provider,
                )
                attempt += 1
