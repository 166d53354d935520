"""Settings of the Anthropic Message Batches emulator: lifecycle timing, limits, fault injection."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from plugins.emulator.config import ConfigBase

OPERATIONS: tuple[str, ...] = (
    "batches.create",
    "batches.retrieve",
    "batches.list",
    "batches.cancel",
    "batches.results",
    "batches.delete",
)
HTTP_FAULTS: tuple[str, ...] = ("drop", "429", "529", "500", "slow")
"""The transport faults, in precedence order (the fault injector's kinds)."""
ERROR_TYPES: tuple[str, ...] = ("api_error", "overloaded_error", "invalid_request_error")
"""What an injected errored result may carry."""
OLDEST_VERSION = "2023-01-01"
"""``anthropic-version`` must be a date (YYYY-MM-DD) from this one on (SDK 2.16 sends 2026-10-21)."""


@dataclass(frozen=True)
class AnthropicEmulatorConfig(ConfigBase):
    """Every knob of the emulator; immutable, replaced as a whole on reconfiguration (coerced
    and checked as every emulator's settings are, see :class:`ConfigBase`).

    Fault names match the OpenAI emulator's (``rate_429``, ``first_lost_create``, ...), so the
    shared fault injector draws them the same way; ``529`` is Anthropic's ``overloaded_error``.
    """

    OPERATIONS: ClassVar[tuple[str, ...]] = OPERATIONS
    LABEL: ClassVar[str] = "Anthropic emulator"
    CHOICES: ClassVar[Mapping[str, tuple[str, ...]]] = {"line_error_type": ERROR_TYPES}

    seed: int = 0
    api_key: str | None = None
    in_progress_seconds: float = 0.0
    cancelling_seconds: float = 0.0
    expiry_seconds: float = 86_400.0
    max_requests_per_batch: int = 100_000
    max_body_bytes: int = 256 * 1024 * 1024
    shuffle_output: bool = True
    latency_ms: float = 0.0
    retry_after_seconds: float = 1.0
    slow_seconds: float = 5.0
    chaos_operations: tuple[str, ...] = OPERATIONS
    rate_429: float = 0.0
    rate_529: float = 0.0
    rate_500: float = 0.0
    rate_drop: float = 0.0
    rate_slow: float = 0.0
    rate_lost_create: float = 0.0
    first_429: dict[str, int] = field(default_factory=dict)
    first_529: dict[str, int] = field(default_factory=dict)
    first_500: dict[str, int] = field(default_factory=dict)
    first_drop: dict[str, int] = field(default_factory=dict)
    first_slow: dict[str, int] = field(default_factory=dict)
    first_lost_create: int = 0
    rate_validation_failure: float = 0.0
    first_validation_failure: int = 0
    rate_expire: float = 0.0
    first_expire: int = 0
    expire_done_fraction: float = 0.5
    rate_line_error: float = 0.0
    line_error_type: str = "api_error"
    rate_garbage_lines: float = 0.0
    rate_unknown_id_lines: float = 0.0
    rate_duplicate_lines: float = 0.0
    rate_missing_lines: float = 0.0
    line_faults_by_request: bool = False
    rate_invalid_answers: float = 0.0
    rate_refusals: float = 0.0
    credit_exhausted: bool = False
