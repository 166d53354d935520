"""Failure classification, full-jitter backoff and ``retry-after`` parsing: pure, testable rules."""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import openai

RETRYABLE_STATUSES = frozenset({408, 409, 429})
RETRY_AFTER_STATUSES = frozenset({429, 503})
QUOTA_CODES = frozenset(
    {"insufficient_quota", "billing_hard_limit_reached", "billing_not_active", "access_terminated"}
)
"""429 codes that are a billing or account state, not a rate limit: waiting seconds cannot help."""


@dataclass(frozen=True, slots=True)
class Failure:
    """What one failed provider call means for retries, the breaker and a pending create.

    ``kind`` is the metric outcome label. ``retryable``: trying again may succeed (and the failure
    counts toward the circuit breaker). ``ambiguous``: the server may have acted on the request
    even though we got no answer (connection lost, timeout, 5xx), so a create must be looked up
    before it is repeated. ``retry_after``: seconds the server asked us to wait, if it did.
    ``condition``: what the failure says about the provider as a whole ("quota": a billing or
    account state, batch creation must pause).
    """

    kind: str
    retryable: bool
    ambiguous: bool
    status: int | None = None
    retry_after: float | None = None
    message: str = ""
    condition: str | None = None


def classify(exc: BaseException, *, now: Callable[[], float] = time.time) -> Failure | None:
    """Map an SDK or transport exception to a :class:`Failure`; ``None`` if it is not one of ours."""
    import httpx2
    import openai

    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        return Failure("timeout", True, True, message=str(exc) or "request timed out")
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
        return Failure("connection", True, True, message=str(exc) or "connection error")
    if isinstance(exc, openai.APIStatusError):
        return _classify_status(exc, now)
    if isinstance(exc, openai.APIResponseValidationError):
        return Failure("invalid_response", True, True, message=str(exc))
    if isinstance(exc, openai.APIError):
        return Failure("api_error", True, True, message=str(exc))
    return None


def _classify_status(exc: openai.APIStatusError, now: Callable[[], float]) -> Failure:
    """An HTTP error answer: quota and billing 429s are not retried (and pause creation), other
    429s are rate limits; the server's ``x-should-retry`` header overrides the status rules."""
    status = exc.status_code
    message = _status_message(exc)
    retry_after = None
    if status in RETRY_AFTER_STATUSES:
        retry_after = parse_retry_after(exc.response.headers, now=now)
    if status == 429 and _error_code(exc) in QUOTA_CODES:
        return Failure("quota", False, False, status, None, message, condition="quota")
    if status == 429:
        failure = Failure("rate_limited", True, False, status, retry_after, message)
    elif status >= 500:
        failure = Failure("server_error", True, True, status, retry_after, message)
    elif status in RETRYABLE_STATUSES:
        kind = "conflict" if status == 409 else "timeout"
        failure = Failure(kind, True, True, status, None, message)
    elif status == 404:
        failure = Failure("not_found", False, False, status, None, message)
    else:
        failure = Failure("client_error", False, False, status, None, message)
    return _should_retry(failure, exc.response.headers.get("x-should-retry"))


def _error_code(exc: openai.APIStatusError) -> str | None:
    """The error's ``code``, else its ``type`` (the API sets both to ``insufficient_quota``)."""
    return exc.code or getattr(exc, "type", None) or None


def _should_retry(failure: Failure, header: str | None) -> Failure:
    """Obey the server's ``x-should-retry: true|false`` over our own status rules, as the SDK
    does; a non-retryable 429 (told not to retry) is a quota condition, not a rate limit."""
    if header == "true" and not failure.retryable:
        return replace(failure, retryable=True)
    if header == "false" and failure.retryable:
        if failure.status == 429:
            return replace(failure, kind="quota", retryable=False, condition="quota")
        return replace(failure, retryable=False)
    return failure


def _status_message(exc: openai.APIStatusError) -> str:
    """The server's error text, with the status code and request id when known."""
    request_id = getattr(exc, "request_id", None)
    suffix = f" (request id {request_id})" if request_id else ""
    return f"HTTP {exc.status_code}: {exc.message}{suffix}"


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: Callable[[], float] = time.time
) -> float | None:
    """Seconds to wait from ``retry-after-ms``, else ``retry-after`` (seconds or an HTTP date).

    Returns ``None`` when absent or unparseable; never negative. An absurdly large number comes
    back as ``math.inf`` so callers treat it as "longer than we are willing to wait".
    """
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw.strip())
        except ValueError:
            continue
        if math.isnan(value):
            continue
        return max(0.0, value / divisor)
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        parsed = email.utils.parsedate_tz(raw)
        if parsed is None:
            return None
        return max(0.0, float(email.utils.mktime_tz(parsed)) - now())
    except (TypeError, ValueError, OverflowError):
        return None


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**attempt)]."""
    ceiling = min(cap, base * (2.0 ** min(attempt, 62)))
    return rng.uniform(0.0, max(0.0, ceiling))


def retry_delay(
    failure: Failure, attempt: int, base: float, cap: float, rng: random.Random
) -> float | None:
    """How long to sleep before the next attempt, or ``None`` if the server asks for longer than ``cap``.

    A server-given ``retry-after`` wins over our backoff (we never wait less than asked).
    """
    if failure.retry_after is not None:
        if failure.retry_after > cap:
            return None
        return failure.retry_after
    return backoff_delay(attempt, base, cap, rng)
