"""Test helpers for the openai provider: a recording stand-in kernel, a fake clock, SDK errors."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx2
import openai

from kernel.settings import load_settings
from kernel.types import Metric, MetricKind

FAST_RETRIES = {
    "openai.api_key": "test-key",
    "openai.backoff_base_seconds": 0.01,
    "openai.backoff_max_seconds": 0.05,
}


class FakeClock:
    """A manual clock whose ``sleep`` advances time instead of waiting."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        """Current fake time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the pause and advance the clock by it."""
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


@dataclass
class StandInKernel:
    """The slice of ``Kernel`` the provider uses: settings, ``metric`` (recorded) and ``log``."""

    settings: Any
    metrics: list[Metric] = field(default_factory=list)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("batchkernel.test"))

    def metric(
        self,
        name: str,
        value: float,
        *,
        kind: MetricKind = "counter",
        unit: str = "1",
        **attrs: Any,
    ) -> None:
        """Record one measurement."""
        self.metrics.append(Metric(name, kind, float(value), unit, attrs))

    def values(self, name: str, **attrs: Any) -> list[float]:
        """Values of metric ``name`` whose attributes include ``attrs``."""
        return [
            m.value
            for m in self.metrics
            if m.name == name and all(m.attributes.get(k) == v for k, v in attrs.items())
        ]


def stand_in_kernel(**overrides: Any) -> StandInKernel:
    """A stand-in kernel over real, validated settings with ``overrides`` applied."""
    return StandInKernel(settings=load_settings({**FAST_RETRIES, **overrides}))


_REQUEST = httpx2.Request("GET", "http://127.0.0.1/v1/batches")


def status_error(
    status: int, headers: dict[str, str] | None = None, body: dict[str, Any] | None = None
) -> openai.APIStatusError:
    """The SDK's exception for an HTTP error answer, built the way the SDK builds it (``body``:
    the inner ``error`` object, as the SDK passes it)."""
    response = httpx2.Response(status, headers=headers or {}, request=_REQUEST)
    classes: dict[int, type[openai.APIStatusError]] = {
        400: openai.BadRequestError,
        401: openai.AuthenticationError,
        404: openai.NotFoundError,
        409: openai.ConflictError,
        429: openai.RateLimitError,
    }
    cls = classes.get(
        status, openai.InternalServerError if status >= 500 else openai.APIStatusError
    )
    return cls(f"Error code: {status}", response=response, body=body)


def connection_error() -> openai.APIConnectionError:
    """The SDK's exception for a dropped connection."""
    return openai.APIConnectionError(request=_REQUEST)


def timeout_error() -> openai.APITimeoutError:
    """The SDK's exception for a timeout."""
    return openai.APITimeoutError(request=_REQUEST)
