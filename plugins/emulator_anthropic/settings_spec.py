"""Settings of the Anthropic emulator: the ``[emulator_anthropic]`` section, one key per
``AnthropicEmulatorConfig`` field plus ``port``; types and defaults come from the dataclass."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from kernel.settingspec import Section, Setting
from plugins.emulator_anthropic.config import ERROR_TYPES, OPERATIONS, AnthropicEmulatorConfig

HELP: dict[str, str] = {
    "seed": "random seed of the injected faults",
    "api_key": "the only key the emulator accepts (empty: any); never logged",
    "in_progress_seconds": "a batch stays in_progress this long",
    "cancelling_seconds": "a batch stays canceling this long",
    "expiry_seconds": "a batch not done within this expires",
    "max_requests_per_batch": "the most requests a batch may have",
    "max_body_bytes": "the largest create body accepted",
    "shuffle_output": "results come back in random order",
    "latency_ms": "added to every call",
    "retry_after_seconds": "the retry-after of a 429, 529 or 500",
    "slow_seconds": "how long a slow call is held",
    "chaos_operations": "the operations the rate_* faults hit",
    "rate_429": "fraction of calls answered 429 rate_limit_error",
    "rate_529": "fraction of calls answered 529 overloaded_error",
    "rate_500": "fraction of calls answered 500 api_error",
    "rate_drop": "fraction of calls whose connection is dropped",
    "rate_slow": "fraction of calls held slow_seconds",
    "rate_lost_create": "fraction of batch creations done but never answered",
    "first_429": "per operation (or *): the first N calls answered 429",
    "first_529": "per operation (or *): the first N calls answered 529",
    "first_500": "per operation (or *): the first N calls answered 500",
    "first_drop": "per operation (or *): the first N calls dropped",
    "first_slow": "per operation (or *): the first N calls held slow",
    "first_lost_create": "the first N batch creations are done but never answered",
    "rate_validation_failure": "fraction of creates rejected with 400 invalid_request_error",
    "first_validation_failure": "the first N creates are rejected with 400",
    "rate_expire": "fraction of batches that expire",
    "first_expire": "the first N batches expire",
    "expire_done_fraction": "the fraction of an expiring batch's requests that still ran",
    "rate_line_error": "fraction of requests whose result is errored",
    "line_error_type": "the error type of an injected errored result",
    "rate_garbage_lines": "fraction of result lines that are not JSON",
    "rate_unknown_id_lines": "fraction of result lines with an unknown custom_id",
    "rate_duplicate_lines": "fraction of result lines repeated",
    "rate_missing_lines": "fraction of result lines left out",
    "line_faults_by_request": "line faults follow the custom id, not chance",
    "rate_invalid_answers": "fraction of answers that break the requested schema",
    "rate_refusals": "fraction of requests the model refuses (stop_reason refusal)",
    "credit_exhausted": "every create is refused: the credit balance is too low",
}

_KINDS: dict[Any, type] = {
    bool: bool,
    int: int,
    float: float,
    str: str,
    str | None: str,
    dict[str, int]: dict,
    tuple[str, ...]: list,
}


def _setting(field: dataclasses.Field[Any], hint: Any) -> Setting:
    """One config field as a setting: its type, its default, its range."""
    default = (
        field.default if field.default_factory is dataclasses.MISSING else field.default_factory()
    )
    if isinstance(default, tuple):
        default = list(default)
    kind = _KINDS[hint]
    numeric = kind in (int, float)
    fraction = field.name.startswith("rate_") or field.name.endswith("_fraction")
    return Setting(
        field.name,
        kind,
        default,
        HELP[field.name],
        choices=ERROR_TYPES if field.name == "line_error_type" else (),
        ge=0 if numeric else None,
        le=1 if numeric and fraction else None,
        optional=hint == str | None,
        secret=field.name == "api_key",
    )


def _config_problems(values: Mapping[str, Any]) -> Iterable[str]:
    """What ``AnthropicEmulatorConfig`` itself refuses (unknown operations and the like)."""
    try:
        AnthropicEmulatorConfig.from_dict({k: v for k, v in values.items() if k != "port"})
    except (TypeError, ValueError) as exc:
        yield f"emulator_anthropic.{exc}; valid operations: {', '.join(OPERATIONS)}"


_HINTS = typing.get_type_hints(AnthropicEmulatorConfig)

EMULATOR_ANTHROPIC = Section(
    "emulator_anthropic",
    "The Anthropic Message Batches emulator (batchkernel emulator --provider anthropic, the "
    "demo, the tests): lifecycle timings, limits and fault injection.",
    (
        Setting("port", int, 0, "the port on 127.0.0.1 (0: any free one)", ge=0, le=65535),
        *(
            _setting(field, _HINTS[field.name])
            for field in dataclasses.fields(AnthropicEmulatorConfig)
        ),
    ),
    validate=_config_problems,
)
