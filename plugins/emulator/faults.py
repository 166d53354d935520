"""Reproducible fault decisions: counted faults ("first N calls") and seeded rates (chaos)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .config import ANY_OPERATION, EmulatorConfig

HTTP_FAULTS: tuple[str, ...] = ("drop", "429", "500", "404", "slow")
MAX_RECORDED = 10_000

# Per-line outcomes, one byte per request in processing order.
LINE_OK = 0
LINE_ERROR = 1
LINE_MISSING = 2
LINE_GARBAGE = 3
LINE_UNKNOWN_ID = 4
LINE_DUPLICATE = 5
LINE_INVALID_ANSWER = 6
LINE_REFUSAL = 7


@dataclass(frozen=True)
class BatchFaults:
    """Batch-level faults drawn once, when a batch is created."""

    fail_validation: bool = False
    expire: bool = False


class FaultInjector:
    """Decides which requests and batches misbehave; thread-safe, seeded, counters resettable."""

    def __init__(self, config: EmulatorConfig, kinds: Sequence[str] = HTTP_FAULTS) -> None:
        self._lock = threading.Lock()
        self._config = config
        self._kinds = tuple(kinds)
        self._rng = random.Random(config.seed)
        self._remaining: dict[str, dict[str, int]] = {}
        self._lost_creates = 0
        self._validation_failures = 0
        self._expiries = 0
        self.injected: list[dict[str, Any]] = []
        self._reset_counters(config, None)

    def reconfigure(self, config: EmulatorConfig) -> None:
        """Adopt new settings; counters restart only for the settings that changed."""
        with self._lock:
            old = self._config
            self._config = config
            if config.seed != old.seed:
                self._rng = random.Random(config.seed)
            self._reset_counters(config, old)

    def _reset_counters(self, new: EmulatorConfig, old: EmulatorConfig | None) -> None:
        """Copy counted-fault budgets from the config where they are new or changed."""
        for kind in self._kinds:
            name = f"first_{kind}"
            if old is None or getattr(old, name) != getattr(new, name):
                self._remaining[kind] = dict(getattr(new, name))
        if old is None or old.first_lost_create != new.first_lost_create:
            self._lost_creates = new.first_lost_create
        if old is None or old.first_validation_failure != new.first_validation_failure:
            self._validation_failures = new.first_validation_failure
        if old is None or old.first_expire != new.first_expire:
            self._expiries = new.first_expire

    def http_fault(self, operation: str, request_id: str) -> str | None:
        """The transport fault for this call, if any, of the injector's kinds (by default drop,
        429, 500, 404 or slow; another provider's emulator passes its own, such as 529)."""
        with self._lock:
            cfg = self._config
            for kind in self._kinds:
                if self._take(kind, operation) or self._roll(kind, operation, cfg):
                    self._record(operation, kind, request_id)
                    return kind
            return None

    def _take(self, kind: str, operation: str) -> bool:
        """Consume one counted fault for the operation (or the "*" wildcard)."""
        budget = self._remaining.get(kind, {})
        for key in (operation, ANY_OPERATION):
            if budget.get(key, 0) > 0:
                budget[key] -= 1
                return True
        return False

    def _roll(self, kind: str, operation: str, cfg: EmulatorConfig) -> bool:
        """Draw a chaos fault at its configured rate."""
        if kind == "404":
            rate = cfg.rate_content_404 if operation == cfg.DOWNLOAD_OPERATION else 0.0
        elif operation in cfg.chaos_operations:
            rate = getattr(cfg, f"rate_{kind}")
        else:
            rate = 0.0
        return rate > 0 and self._rng.random() < rate

    def lose_create(self, request_id: str) -> bool:
        """Whether this batches.create answer is lost after the batch was made."""
        with self._lock:
            lost = self._lost_creates > 0
            if lost:
                self._lost_creates -= 1
            else:
                rate = self._config.rate_lost_create
                lost = rate > 0 and self._rng.random() < rate
            if lost:
                self._record("batches.create", "lost_create", request_id)
            return lost

    def batch_faults(self, batch_id: str) -> BatchFaults:
        """Draw the batch-level faults of a newly created batch."""
        with self._lock:
            cfg = self._config
            fail = self._validation_failures > 0
            if fail:
                self._validation_failures -= 1
            else:
                fail = cfg.rate_validation_failure > 0 and (
                    self._rng.random() < cfg.rate_validation_failure
                )
            expire = self._expiries > 0
            if expire:
                self._expiries -= 1
            else:
                expire = cfg.rate_expire > 0 and self._rng.random() < cfg.rate_expire
            if fail:
                self._record("batches.create", "validation_failure", batch_id)
            if expire:
                self._record("batches.create", "expire", batch_id)
            return BatchFaults(fail_validation=fail, expire=expire)

    def _record(self, operation: str, kind: str, ref: str) -> None:
        """Remember an injected fault for the ledger (bounded)."""
        if len(self.injected) < MAX_RECORDED:
            self.injected.append(
                {"operation": operation, "fault": kind, "ref": ref, "at": time.time()}
            )

    def snapshot(self) -> list[dict[str, Any]]:
        """A copy of the injected-fault log."""
        with self._lock:
            return list(self.injected)


def _line_rates(cfg: EmulatorConfig) -> list[tuple[int, float]]:
    """The line-level fault codes with a non-zero rate, in precedence order."""
    rates = (
        (LINE_ERROR, cfg.rate_line_error),
        (LINE_MISSING, cfg.rate_missing_lines),
        (LINE_GARBAGE, cfg.rate_garbage_lines),
        (LINE_UNKNOWN_ID, cfg.rate_unknown_id_lines),
        (LINE_DUPLICATE, cfg.rate_duplicate_lines),
        (LINE_INVALID_ANSWER, cfg.rate_invalid_answers),
        (LINE_REFUSAL, cfg.rate_refusals),
    )
    return [(code, rate) for code, rate in rates if rate > 0]


def line_outcomes_by_request(
    custom_ids: Sequence[str], seen: dict[str, int], cfg: EmulatorConfig
) -> bytearray:
    """Per-request outcome codes that depend only on the request and how often it was sent.

    With ``line_faults_by_request`` the same request meets the same fault whatever batch carries
    it, so two clients that group requests differently see the same emulator behaviour.
    """
    outcomes = bytearray(len(custom_ids))
    active = _line_rates(cfg)
    for index, custom_id in enumerate(custom_ids):
        attempt = seen.get(custom_id, 0)
        seen[custom_id] = attempt + 1
        if not active:
            continue
        draw = random.Random(f"{cfg.seed}:{custom_id}:{attempt}").random
        for code, rate in active:
            if draw() < rate:
                outcomes[index] = code
                break
    return outcomes


def line_outcomes(rng: random.Random, count: int, cfg: EmulatorConfig) -> bytearray:
    """Per-request outcome codes (LINE_*) for a batch, drawn from the line-level fault rates."""
    outcomes = bytearray(count)
    active = _line_rates(cfg)
    if not active:
        return outcomes
    draw = rng.random
    for index in range(count):
        for code, rate in active:
            if draw() < rate:
                outcomes[index] = code
                break
    return outcomes
