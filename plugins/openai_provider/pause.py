"""Creation paused by a billing or account condition (``insufficient_quota``): a long cool-down
that grows while the condition lasts and ends with the first accepted batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kernel.types import ProviderHealth

PAUSED = "batchkernel.provider.paused"
"""Gauge: 1 while batch creation at a provider is paused, 0 once it may create again."""


class CreationPause:
    """When batch creation may try again after the provider answered with a quota condition.

    Each quota answer in a row doubles the cool-down (``base``, ``2 * base``, ... up to ``cap``);
    a batch accepted by the provider ends the streak. Thread-safe; ``clock`` is injectable.
    """

    def __init__(self, provider: str, clock: Callable[[], float] = time.time) -> None:
        self.provider = provider
        self.clock = clock
        self._lock = threading.Lock()
        self._until: float | None = None
        self._streak = 0
        self._reason = ""
        self._condition = "quota"

    def record(self, condition: str, reason: str, base: float, cap: float) -> float:
        """Pause creation for the next, longer cool-down; returns its end (clock seconds)."""
        with self._lock:
            self._streak += 1
            delay = min(cap, base * 2.0 ** min(self._streak - 1, 30))
            self._until = self.clock() + max(0.0, delay)
            self._reason = reason
            self._condition = condition
            return self._until

    def clear(self) -> bool:
        """The provider accepted a batch: the condition is over. Whether a pause was recorded."""
        with self._lock:
            had = self._streak > 0
            self._until = None
            self._streak = 0
            self._reason = ""
            return had

    def active(self) -> bool:
        """Whether creation is paused right now."""
        with self._lock:
            return self._until is not None and self.clock() < self._until

    def health(self) -> ProviderHealth:
        """The provider's health for the scheduler: "ok", or the condition until when."""
        with self._lock:
            if self._until is None or self.clock() >= self._until:
                return ProviderHealth(self.provider, "ok")
            until = datetime.fromtimestamp(self._until, UTC)
            return ProviderHealth(self.provider, self._condition, self._reason, until)  # type: ignore[arg-type]

    def state(self) -> dict[str, Any]:
        """The status section's view: condition, reason, until (ISO) and the streak so far."""
        health = self.health()
        with self._lock:
            streak = self._streak
        return {
            "condition": health.condition,
            "reason": health.reason or None,
            "until": health.until.isoformat() if health.until else None,
            "streak": streak,
        }
