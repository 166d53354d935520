"""Unit tests of failure classification, backoff bounds and retry-after parsing."""

from __future__ import annotations

import email.utils
import math
import random

import httpx2
import pytest

from plugins.openai_provider.retry import (
    Failure,
    backoff_delay,
    classify,
    parse_retry_after,
    retry_delay,
)
from tests.provider.support import connection_error, status_error, timeout_error


@pytest.mark.parametrize("attempt", [0, 1, 2, 5, 10, 80])
def test_full_jitter_stays_within_the_exponential_ceiling(attempt: int) -> None:
    """Every delay is in [0, min(cap, base * 2**attempt)] and the spread is used."""
    rng = random.Random(7)
    base, cap = 0.5, 30.0
    ceiling = min(cap, base * 2**attempt)
    delays = [backoff_delay(attempt, base, cap, rng) for _ in range(500)]
    assert all(0.0 <= d <= ceiling for d in delays)
    assert max(delays) > ceiling * 0.8
    assert min(delays) < ceiling * 0.2


def test_retry_after_ms_wins_over_seconds() -> None:
    """``retry-after-ms`` is read first, in milliseconds."""
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25


def test_retry_after_seconds_and_floats() -> None:
    """``retry-after`` in (possibly fractional) seconds."""
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5


def test_retry_after_http_date() -> None:
    """An HTTP date is turned into seconds from now."""
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 12, usegmt=True)
    assert parse_retry_after({"retry-after": header}, now=lambda: now) == pytest.approx(12, abs=1)


def test_retry_after_garbage_absent_and_past() -> None:
    """Unparseable or absent headers give None; a date in the past gives 0."""
    assert parse_retry_after({}) is None
    assert parse_retry_after(None) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    past = email.utils.formatdate(1_000, usegmt=True)
    assert parse_retry_after({"retry-after": past}, now=lambda: 2_000_000.0) == 0.0
    assert parse_retry_after({"retry-after": "-5"}) == 0.0


def test_retry_delay_honours_and_caps_the_server_wait() -> None:
    """A server wait within the cap is used as is; a longer one means "do not sleep"."""
    rng = random.Random(1)
    asked = Failure("rate_limited", True, False, 429, 2.0)
    assert retry_delay(asked, 0, 0.5, 30.0, rng) == 2.0
    too_long = Failure("rate_limited", True, False, 429, 31.0)
    assert retry_delay(too_long, 0, 0.5, 30.0, rng) is None
    assert retry_delay(Failure("rate_limited", True, False, 429, math.inf), 0, 0.5, 30, rng) is None
    plain = Failure("server_error", True, True, 500)
    assert 0.0 <= (retry_delay(plain, 3, 0.5, 30.0, rng) or 0.0) <= 4.0


@pytest.mark.parametrize(
    ("status", "kind", "retryable", "ambiguous"),
    [
        (400, "client_error", False, False),
        (401, "client_error", False, False),
        (404, "not_found", False, False),
        (408, "timeout", True, True),
        (409, "conflict", True, True),
        (422, "client_error", False, False),
        (429, "rate_limited", True, False),
        (500, "server_error", True, True),
        (502, "server_error", True, True),
        (503, "server_error", True, True),
    ],
)
def test_classify_status_errors(status: int, kind: str, retryable: bool, ambiguous: bool) -> None:
    """408/409/429/5xx retry, other 4xx do not; only answers the server may have acted on are ambiguous."""
    failure = classify(status_error(status))
    assert failure is not None
    assert (failure.kind, failure.retryable, failure.ambiguous, failure.status) == (
        kind,
        retryable,
        ambiguous,
        status,
    )


def test_classify_reads_retry_after_on_429_and_503_only() -> None:
    """retry-after is honoured on 429 and 503, ignored elsewhere."""

    def waited(status: int, headers: dict[str, str]) -> float | None:
        """The retry-after the classifier read for this answer."""
        failure = classify(status_error(status, headers))
        assert failure is not None
        return failure.retry_after

    assert waited(429, {"retry-after": "2"}) == 2.0
    assert waited(503, {"retry-after-ms": "10"}) == 0.01
    assert waited(500, {"retry-after": "2"}) is None


def test_classify_transport_errors() -> None:
    """Connection losses and timeouts (SDK or mid-stream httpx) are retryable and ambiguous."""
    for exc, kind in (
        (connection_error(), "connection"),
        (timeout_error(), "timeout"),
        (httpx2.RemoteProtocolError("peer closed"), "connection"),
        (httpx2.ReadTimeout("slow"), "timeout"),
    ):
        failure = classify(exc)
        assert failure is not None
        assert (failure.kind, failure.retryable, failure.ambiguous) == (kind, True, True)


def test_classify_leaves_foreign_exceptions_alone() -> None:
    """A bug in our code is not a provider failure."""
    assert classify(KeyError("x")) is None
    assert classify(OSError("disk")) is None


QUOTA_BODY = {
    "message": "You exceeded your current quota, please check your plan and billing details.",
    "type": "insufficient_quota",
    "param": None,
    "code": "insufficient_quota",
}


def test_insufficient_quota_is_not_retried_and_names_the_condition() -> None:
    """A billing 429 is no rate limit: not retried (nor counted by the breaker), condition quota."""
    failure = classify(status_error(429, {"retry-after": "1"}, QUOTA_BODY))
    assert failure is not None
    assert (failure.kind, failure.retryable, failure.condition) == ("quota", False, "quota")


def test_rate_limit_429s_stay_transient() -> None:
    """A 429 that says rate_limit_exceeded (or nothing) is retried after its retry-after."""
    body = {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}
    for failure in (
        classify(status_error(429, {"retry-after": "1"}, body)),
        classify(status_error(429)),
    ):
        assert failure is not None
        assert (failure.kind, failure.retryable, failure.condition) == ("rate_limited", True, None)


@pytest.mark.parametrize(
    ("status", "header", "retryable", "condition"),
    [
        (400, "true", True, None),
        (500, "false", False, None),
        (429, "false", False, "quota"),
        (404, "true", True, None),
        (503, "true", True, None),
    ],
)
def test_x_should_retry_overrides_the_status_rules(
    status: int, header: str, retryable: bool, condition: str | None
) -> None:
    """The server's ``x-should-retry`` wins, as in the SDK; a 429 told not to retry pauses."""
    failure = classify(status_error(status, {"x-should-retry": header}))
    assert failure is not None
    assert (failure.retryable, failure.condition) == (retryable, condition)
