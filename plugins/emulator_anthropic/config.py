"""Settings of the Anthropic Message Batches emulator: lifecycle timing, limits, fault injection."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plugins.emulator.config import _as_bool, _as_float, _as_int

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
ANY_OPERATION = "*"
HIDDEN = "***"
"""What the admin API shows instead of the API key."""


@dataclass(frozen=True)
class AnthropicEmulatorConfig:
    """Every knob of the emulator; immutable, replaced as a whole on reconfiguration.

    Fault names match the OpenAI emulator's (``rate_429``, ``first_lost_create``, ...), so the
    shared fault injector draws them the same way; ``529`` is Anthropic's ``overloaded_error``.
    """

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

    def __post_init__(self) -> None:
        """Coerce loosely typed values (JSON, CLI, settings) and reject out-of-range ones."""
        hints = _hints()
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _coerce(f.name, hints[f.name], getattr(self, f.name)))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> AnthropicEmulatorConfig:
        """Build a config from a plain mapping; unknown keys raise ValueError."""
        valid = cls.keys()
        for key in values:
            if key not in valid:
                raise ValueError(
                    f"unknown Anthropic emulator config key {key!r}; valid keys: {', '.join(valid)}"
                )
        return cls(**dict(values))

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """Names of all settings, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def replace(self, **changes: Any) -> AnthropicEmulatorConfig:
        """A copy with some settings changed (validated like from_dict)."""
        return AnthropicEmulatorConfig.from_dict({**self.to_dict(), **changes})

    def public(self) -> dict[str, Any]:
        """The settings as the admin API shows them: the API key is never echoed."""
        return {**self.to_dict(), "api_key": HIDDEN if self.api_key else None}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view of the settings (the API key included: never send this out)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, dict):
                value = dict(value)
            out[f.name] = value
        return out


_HINTS: dict[str, Any] = {}


def _hints() -> dict[str, Any]:
    """Resolved type hints of the config, computed once."""
    if not _HINTS:
        _HINTS.update(typing.get_type_hints(AnthropicEmulatorConfig))
    return _HINTS


def _coerce(name: str, hint: Any, value: Any) -> Any:
    """Convert one setting to its declared type and check its range."""
    if hint is bool:
        return _as_bool(name, value)
    if hint is int:
        number = _as_int(name, value)
        if number < 0:
            raise ValueError(f"{name} must be >= 0, got {number}")
        return number
    if hint is float:
        real = _as_float(name, value)
        if real < 0:
            raise ValueError(f"{name} must be >= 0, got {real}")
        if (name.startswith("rate_") or name.endswith("_fraction")) and real > 1:
            raise ValueError(f"{name} is a fraction and must be within 0..1, got {real}")
        return real
    if hint is str:
        if name == "line_error_type" and value not in ERROR_TYPES:
            raise ValueError(f"{name} must be one of {', '.join(ERROR_TYPES)}, got {value!r}")
        return str(value)
    if hint == (str | None):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be a string or null, got {value!r}")
        return value or None
    if hint == tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else list(value)
        for item in items:
            if item not in OPERATIONS:
                raise ValueError(f"{name}: unknown operation {item!r}; valid: {OPERATIONS}")
        return tuple(items)
    if hint == dict[str, int]:
        if not isinstance(value, Mapping):
            raise ValueError(f"{name} must be a mapping, got {value!r}")
        out = {str(k): _as_int(f"{name}[{k}]", v) for k, v in value.items()}
        for key in out:
            if key not in OPERATIONS and key != ANY_OPERATION:
                raise ValueError(f"{name}: unknown operation {key!r}; valid: {OPERATIONS}")
        return out
    raise TypeError(f"unsupported config type for {name}: {hint!r}")
