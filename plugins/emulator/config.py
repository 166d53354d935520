"""Emulator settings: lifecycle timing, limits and fault injection, validated on construction."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

OPERATIONS: tuple[str, ...] = (
    "files.create",
    "files.retrieve",
    "files.content",
    "files.delete",
    "files.list",
    "batches.create",
    "batches.retrieve",
    "batches.list",
    "batches.cancel",
)

ANY_OPERATION = "*"
HIDDEN = "***"
"""What the admin API shows instead of the API key."""


@dataclass(frozen=True)
class ConfigBase:
    """What every emulator's settings share: loose values (JSON, CLI, settings) coerced to the
    declared types and ranges on construction, built from and shown as plain mappings.

    A provider's emulator declares its fields in a subclass, with its own ``OPERATIONS`` (the
    names faults can target), ``LABEL`` (for error messages) and ``CHOICES`` (string settings
    limited to a few values)."""

    OPERATIONS: ClassVar[tuple[str, ...]] = OPERATIONS
    LABEL: ClassVar[str] = "emulator"
    CHOICES: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    def __post_init__(self) -> None:
        """Coerce loosely typed values and reject out-of-range ones."""
        hints = _hints(type(self))
        for f in dataclasses.fields(self):
            value = _coerce(f.name, hints[f.name], getattr(self, f.name), self.OPERATIONS)
            choices = self.CHOICES.get(f.name)
            if choices is not None and value not in choices:
                raise ValueError(f"{f.name} must be one of {', '.join(choices)}, got {value!r}")
            object.__setattr__(self, f.name, value)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Self:
        """Build a config from a plain mapping (settings, JSON); unknown keys raise ValueError."""
        valid = cls.keys()
        for key in values:
            if key not in valid:
                raise ValueError(
                    f"unknown {cls.LABEL} config key {key!r}; valid keys: {', '.join(valid)}"
                )
        return cls(**dict(values))

    @classmethod
    def coerce(cls, config: Mapping[str, Any] | None) -> Self:
        """The defaults for ``None``, else a config built from the mapping (``from_dict``)."""
        return cls() if config is None else cls.from_dict(config)

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """Names of all settings, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def replace(self, **changes: Any) -> Self:
        """Return a copy with some settings changed (validated like from_dict)."""
        return type(self).from_dict({**self.to_dict(), **changes})

    def public(self) -> dict[str, Any]:
        """The settings as the admin API shows them: the API key is never echoed."""
        return {**self.to_dict(), "api_key": HIDDEN if getattr(self, "api_key", None) else None}

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


@dataclass(frozen=True)
class EmulatorConfig(ConfigBase):
    """Every knob of the OpenAI-compatible emulator; immutable, replaced as a whole on
    reconfiguration.

    The Gemini emulator subclasses it with its own ``OPERATIONS`` and ``DOWNLOAD_OPERATION``
    (the one ``rate_content_404`` hits)."""

    DOWNLOAD_OPERATION: ClassVar[str] = "files.content"

    seed: int = 0
    api_key: str | None = None
    validating_seconds: float = 0.0
    in_progress_seconds: float = 0.0
    finalizing_seconds: float = 0.0
    cancelling_seconds: float = 0.0
    completion_window_seconds: float = 86_400.0
    max_file_bytes: int = 200 * 1024 * 1024
    max_requests_per_batch: int = 50_000
    enqueued_token_limits: dict[str, int] = field(default_factory=dict)
    shuffle_output: bool = True
    latency_ms: float = 0.0
    retry_after_seconds: float = 1.0
    slow_seconds: float = 5.0
    chaos_operations: tuple[str, ...] = OPERATIONS
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_drop: float = 0.0
    rate_slow: float = 0.0
    rate_content_404: float = 0.0
    rate_lost_create: float = 0.0
    first_429: dict[str, int] = field(default_factory=dict)
    first_500: dict[str, int] = field(default_factory=dict)
    first_drop: dict[str, int] = field(default_factory=dict)
    first_slow: dict[str, int] = field(default_factory=dict)
    first_404: dict[str, int] = field(default_factory=dict)
    first_lost_create: int = 0
    rate_validation_failure: float = 0.0
    first_validation_failure: int = 0
    rate_expire: float = 0.0
    first_expire: int = 0
    expire_done_fraction: float = 0.5
    stuck_finalizing: bool = False
    rate_line_error: float = 0.0
    line_error_status: int = 500
    rate_garbage_lines: float = 0.0
    rate_unknown_id_lines: float = 0.0
    rate_duplicate_lines: float = 0.0
    rate_missing_lines: float = 0.0
    line_faults_by_request: bool = False
    rate_invalid_answers: float = 0.0
    rate_refusals: float = 0.0
    insufficient_quota: bool = False
    reject_line_marker: str | None = None
    azure_deployments: tuple[str, ...] = ()
    keep_batch_metadata: bool = True


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """Resolved type hints of a config class, computed once per class."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _coerce(name: str, hint: Any, value: Any, operations: tuple[str, ...] = OPERATIONS) -> Any:
    """Convert one setting to its declared type and check its range."""
    if hint is bool:
        return _as_bool(name, value)
    if hint is int:
        number = _as_int(name, value)
        if number < 0:
            raise ValueError(f"{name} must be >= 0, got {number}")
        if name == "line_error_status" and not 400 <= number <= 599:
            raise ValueError(f"{name} must be an HTTP error status 400..599, got {number}")
        return number
    if hint is float:
        amount = _as_float(name, value)
        if amount < 0:
            raise ValueError(f"{name} must be >= 0, got {amount}")
        if (name.startswith("rate_") or name.endswith("_fraction")) and amount > 1:
            raise ValueError(f"{name} is a fraction and must be within 0..1, got {amount}")
        return amount
    if hint is str:
        return str(value)
    if hint == (str | None):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be a string or null, got {value!r}")
        return value or None
    if hint == tuple[str, ...]:
        items = [item for item in (value.split(",") if isinstance(value, str) else value) if item]
        for item in items:
            if name.endswith("_operations") and item not in operations:
                raise ValueError(f"{name}: unknown operation {item!r}; valid: {operations}")
        return tuple(items)
    if hint == dict[str, int]:
        if not isinstance(value, Mapping):
            raise ValueError(f"{name} must be a mapping, got {value!r}")
        out = {str(k): _as_int(f"{name}[{k}]", v) for k, v in value.items()}
        if name.startswith("first_"):
            for key in out:
                if key not in operations and key != ANY_OPERATION:
                    raise ValueError(f"{name}: unknown operation {key!r}; valid: {operations}")
        return out
    raise TypeError(f"unsupported config type for {name}: {hint!r}")


def _as_bool(name: str, value: Any) -> bool:
    """Accept real booleans and the usual true/false spellings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no"):
        return value.lower() in ("true", "1", "yes", "on")
    if isinstance(value, int):
        return bool(value)
    raise ValueError(f"{name} must be a boolean, got {value!r}")


def _as_int(name: str, value: Any) -> int:
    """Accept ints and integral strings, never booleans."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise ValueError(f"{name} must be an integer, got {value!r}")


def _as_float(name: str, value: Any) -> float:
    """Accept ints, floats and numeric strings, never booleans."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise ValueError(f"{name} must be a number, got {value!r}")
