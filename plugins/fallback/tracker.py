"""Per-operation sliding windows of durations and outcomes for both paths, and the routing rule.

The original system's tracker compared against an empty average and was never fed.
Here a path is judged only on samples it has: the optimized path is left when its success rate
in the window is at or below 0.9, or when both windows are full enough and it is slower on
average; while routed to the original, every ``sample_every``-th call still goes to the
optimized path so the tracker can switch back.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from statistics import fmean

OPTIMIZED = "optimized"
ORIGINAL = "original"


@dataclass(frozen=True, slots=True)
class Choice:
    """Where an operation goes now, and why."""

    path: str
    reason: str


class PerformanceTracker:
    """Thread-safe sliding windows per (operation, path)."""

    def __init__(
        self,
        *,
        window: int = 50,
        min_samples: int = 5,
        success_threshold: float = 0.9,
        sample_every: int = 10,
    ) -> None:
        self.window = window
        self.min_samples = min_samples
        self.success_threshold = success_threshold
        self.sample_every = sample_every
        self._samples: dict[tuple[str, str], deque[tuple[float, bool]]] = {}
        self._routed_calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def record(self, operation: str, path: str, seconds: float, ok: bool) -> None:
        """Add one call's duration and outcome."""
        with self._lock:
            key = (operation, path)
            if key not in self._samples:
                self._samples[key] = deque(maxlen=self.window)
            self._samples[key].append((seconds, ok))

    def _stats(self, operation: str, path: str) -> tuple[int, float, float | None]:
        """(samples, success rate, mean duration of successful calls) for one path."""
        samples = list(self._samples.get((operation, path), ()))
        if not samples:
            return 0, 1.0, None
        good = [seconds for seconds, ok in samples if ok]
        return len(samples), len(good) / len(samples), fmean(good) if good else None

    def choice(self, operation: str) -> Choice:
        """Which path the tracker prefers for ``operation``, with the reason."""
        with self._lock:
            count, success, optimized_mean = self._stats(operation, OPTIMIZED)
            original_count, _, original_mean = self._stats(operation, ORIGINAL)
        if count < self.min_samples:
            return Choice(OPTIMIZED, f"warming up ({count}/{self.min_samples} optimized samples)")
        if success <= self.success_threshold:
            return Choice(
                ORIGINAL,
                f"optimized success rate {success:.0%} is at or below {self.success_threshold:.0%}",
            )
        if (
            original_count >= self.min_samples
            and optimized_mean is not None
            and original_mean is not None
            and optimized_mean > original_mean
        ):
            return Choice(
                ORIGINAL,
                f"optimized slower: {optimized_mean:.3f}s vs {original_mean:.3f}s on average",
            )
        return Choice(OPTIMIZED, f"optimized success rate {success:.0%}, not slower")

    def route(self, operation: str) -> Choice:
        """The path for the next call: the choice, except a periodic sample of the optimized."""
        choice = self.choice(operation)
        if choice.path == OPTIMIZED:
            return choice
        with self._lock:
            calls = self._routed_calls.get(operation, 0) + 1
            self._routed_calls[operation] = calls
        if calls % self.sample_every == 0:
            return Choice(OPTIMIZED, "sampling the optimized path")
        return choice

    def snapshot(self) -> dict[str, dict[str, object]]:
        """Every operation seen: the choice and both windows' figures, for status."""
        with self._lock:
            operations = sorted({op for op, _ in self._samples})
        out: dict[str, dict[str, object]] = {}
        for op in operations:
            choice = self.choice(op)
            with self._lock:
                opt = self._stats(op, OPTIMIZED)
                orig = self._stats(op, ORIGINAL)
            out[op] = {
                "path": choice.path,
                "reason": choice.reason,
                "optimized": {"samples": opt[0], "success_rate": opt[1], "mean_seconds": opt[2]},
                "original": {"samples": orig[0], "success_rate": orig[1], "mean_seconds": orig[2]},
            }
        return out
