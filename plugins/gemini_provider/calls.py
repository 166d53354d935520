"""Our retries around SDK calls (the SDK's own are off): failures classified from google-genai
errors, full-jitter backoff that honours the server's RetryInfo delay, and a health record
(failures in a row, quota, configuration) that ``provider_health`` reports.

Gemini answers a rate limit and a spent quota both as 429 RESOURCE_EXHAUSTED; the
``google.rpc.QuotaFailure`` detail tells them apart (a per-day quota or the batch enqueued-token
limit is not worth retrying call by call).
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from kernel.types import ProviderError

T = TypeVar("T")
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)s\s*$")
NOT_RETRYABLE = frozenset({400, 401, 403, 404, 409, 412})


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed call: retry it?, might the server have acted?, how long it asked us to wait."""

    kind: str
    retryable: bool
    ambiguous: bool
    status: int | None = None
    retry_after: float | None = None
    condition: str | None = None
    message: str = ""


def classify(exc: BaseException) -> Failure | None:
    """A google-genai or transport exception as a :class:`Failure`; ``None`` if not one of ours."""
    from google.genai import errors

    if isinstance(exc, errors.APIError):
        code = int(exc.code or 0)
        message = f"HTTP {code} {exc.status or ''}: {exc.message or ''}".strip()
        details = _details(exc.details)
        if code == 429:
            quota = _quota_kind(details)
            if quota is not None:
                return Failure(quota, False, False, code, None, quota, message)
            return Failure("rate_limited", True, False, code, _retry_delay(details), None, message)
        if code >= 500 or code == 408:
            return Failure("server_error", True, True, code, _retry_delay(details), None, message)
        if code == 404:
            return Failure("not_found", False, False, code, None, None, message)
        if code in (401, 403) or any(d.get("reason") == "API_KEY_INVALID" for d in details):
            return Failure("unauthorized", False, False, code, None, "config", message)
        return Failure("client_error", False, False, code, None, None, message)
    if _is_transport_error(exc):
        return Failure("connection", True, True, message=str(exc) or type(exc).__name__)
    return None


def _is_transport_error(exc: BaseException) -> bool:
    """httpx / httpx2 transport errors (the SDK may use either), including timeouts."""
    for module in ("httpx", "httpx2"):
        try:
            imported = __import__(module)
        except ImportError:
            continue
        if isinstance(exc, imported.TransportError):
            return True
    return False


def _details(body: Any) -> list[Mapping[str, Any]]:
    """``error.details`` of a Google error body."""
    error = body.get("error", body) if isinstance(body, Mapping) else {}
    details = error.get("details") if isinstance(error, Mapping) else None
    return [d for d in details or [] if isinstance(d, Mapping)]


def _retry_delay(details: list[Mapping[str, Any]]) -> float | None:
    """Seconds from a ``google.rpc.RetryInfo`` detail (``retryDelay: "2.5s"``)."""
    for detail in details:
        if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            match = _DURATION.match(str(detail.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    return None


def _quota_kind(details: list[Mapping[str, Any]]) -> str | None:
    """``quota`` for a spent daily quota or the enqueued-token limit; ``None`` for a rate limit."""
    for detail in details:
        if not str(detail.get("@type", "")).endswith("google.rpc.QuotaFailure"):
            continue
        for violation in detail.get("violations") or []:
            quota_id = str(violation.get("quotaId", ""))
            metric = str(violation.get("quotaMetric", ""))
            if "PerDay" in quota_id or "enqueued" in metric.lower() or "Enqueued" in quota_id:
                return "quota"
    return None


class Health:
    """Failures in a row, and a condition (quota, config, circuit) that lasts until a deadline."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self.clock = clock
        self.failures = 0
        self.condition: str | None = None
        self.reason = ""
        self.until: float | None = None

    def succeeded(self) -> None:
        """A call went through: healthy again."""
        with self._lock:
            self.failures = 0
            self.condition = None
            self.reason = ""
            self.until = None

    def failed(self, failure: Failure, threshold: int, cool_down: float) -> None:
        """Count a failure; a quota/config condition or enough failures in a row mark it."""
        with self._lock:
            if failure.condition in ("quota", "config"):
                self._mark(failure.condition, failure.message, cool_down)
            elif failure.retryable:
                self.failures += 1
                if self.failures >= threshold:
                    self._mark("circuit", failure.message, cool_down)

    def _mark(self, condition: str, reason: str, cool_down: float) -> None:
        """Set the condition until now + cool_down."""
        self.condition = condition
        self.reason = reason
        self.until = self.clock() + cool_down

    def current(self) -> tuple[str, str, datetime | None]:
        """(condition or "ok", reason, until) as of now; an elapsed condition lets a call try."""
        with self._lock:
            if self.condition is None or self.until is None or self.clock() >= self.until:
                return "ok", "", None
            until = datetime.fromtimestamp(self.until, UTC)
            return self.condition, self.reason, until


class Caller:
    """Runs one SDK call with our retry policy and reports failures as ProviderError."""

    def __init__(
        self,
        health: Health,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.health = health
        self.sleep = sleep
        self.rng = rng or random.Random()

    def run(
        self,
        config: Any,
        operation: str,
        call: Callable[[], T],
        *,
        retry_ambiguous: bool = True,
        on_ambiguous: Callable[[Failure], T | None] | None = None,
    ) -> T:
        """Call until it succeeds, a failure is final, or retries run out.

        ``retry_ambiguous=False`` (create): a failure after which the server may have acted is
        not repeated; ``on_ambiguous`` may find what the call made and answer it instead.
        """
        attempt = 0
        while True:
            try:
                result = call()
            except Exception as exc:
                failure = classify(exc)
                if failure is None:
                    raise
                self.health.failed(
                    failure, config.circuit_failure_threshold, config.circuit_reset_seconds
                )
                if failure.ambiguous and on_ambiguous is not None:
                    found = on_ambiguous(failure)
                    if found is not None:
                        self.health.succeeded()
                        return found
                delay = self._delay(failure, attempt, config)
                final = not failure.retryable or (failure.ambiguous and not retry_ambiguous)
                if final or delay is None or attempt >= config.max_retries:
                    raise ProviderCallError(operation, failure) from exc
                attempt += 1
                self.sleep(delay)
                continue
            self.health.succeeded()
            return result

    def _delay(self, failure: Failure, attempt: int, config: Any) -> float | None:
        """The server's delay if it gave one (None when longer than we wait), else backoff."""
        cap = float(config.backoff_max_seconds)
        if failure.retry_after is not None:
            return None if failure.retry_after > cap else failure.retry_after
        ceiling = min(cap, float(config.backoff_base_seconds) * 2.0 ** min(attempt, 30))
        return self.rng.uniform(0.0, max(0.0, ceiling))


class ProviderCallError(ProviderError):
    """A provider call that failed for good (or ran out of retries); carries its Failure."""

    def __init__(self, operation: str, failure: Failure) -> None:
        super().__init__(
            f"gemini {operation} failed ({failure.kind}): {failure.message}",
            retryable=failure.retryable,
            operation=operation,
        )
        self.failure = failure
        self.condition = failure.condition or (
            "rate_limit" if failure.kind == "rate_limited" else None
        )
