"""Settings of the ``emulator`` plugin: the ``[emulator]`` section, one key per ``EmulatorConfig``
field plus ``port``, and :func:`emulator_section`, which builds such a section for any
provider's emulator. Types and defaults come from the dataclass, so the two cannot drift; the
dataclass's own checks run as the section's validator."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from kernel import hookimpl
from kernel.settingspec import Section, Setting
from plugins.emulator.config import ConfigBase, EmulatorConfig

HELP: dict[str, str] = {
    "seed": "random seed of the injected faults",
    "api_key": "the only key the emulator accepts (empty: any); never logged",
    "validating_seconds": "a batch stays validating this long",
    "in_progress_seconds": "a batch stays in progress this long",
    "finalizing_seconds": "a batch stays finalizing this long",
    "cancelling_seconds": "a batch stays cancelling this long",
    "completion_window_seconds": "a batch not done within this expires",
    "max_file_bytes": "the largest upload accepted",
    "max_requests_per_batch": "the most lines a batch may have",
    "enqueued_token_limits": "per model: the enqueued input tokens allowed over running batches",
    "shuffle_output": "result lines come back in random order",
    "latency_ms": "added to every call",
    "retry_after_seconds": "the Retry-After of a 429",
    "slow_seconds": "how long a slow call is held",
    "chaos_operations": "the operations the rate_* faults hit",
    "rate_429": "fraction of calls answered 429",
    "rate_500": "fraction of calls answered 500",
    "rate_drop": "fraction of calls whose connection is dropped",
    "rate_slow": "fraction of calls held slow_seconds",
    "rate_content_404": "fraction of file downloads answered 404",
    "rate_lost_create": "fraction of batch creations done but answered with an error",
    "first_429": "per operation (or *): the first N calls answered 429",
    "first_500": "per operation (or *): the first N calls answered 500",
    "first_drop": "per operation (or *): the first N calls dropped",
    "first_slow": "per operation (or *): the first N calls held slow",
    "first_404": "per operation (or *): the first N calls answered 404",
    "first_lost_create": "the first N batch creations are done but answered with an error",
    "rate_validation_failure": "fraction of batches that fail validation",
    "first_validation_failure": "the first N batches fail validation",
    "rate_expire": "fraction of batches that expire",
    "first_expire": "the first N batches expire",
    "expire_done_fraction": "the fraction of an expiring batch's lines that still succeed",
    "stuck_finalizing": "batches never leave finalizing",
    "rate_line_error": "fraction of result lines that are errors",
    "line_error_status": "the HTTP status of an error line",
    "rate_garbage_lines": "fraction of result lines that are not JSON",
    "rate_unknown_id_lines": "fraction of result lines with an unknown custom_id",
    "rate_duplicate_lines": "fraction of result lines repeated",
    "rate_missing_lines": "fraction of result lines left out",
    "line_faults_by_request": "line faults follow the request id, not chance",
    "rate_invalid_answers": "fraction of answers that break their format (an enum value outside "
    "the schema, or text that is not JSON); never for a strict json_schema",
    "rate_refusals": "fraction of requests the model refuses",
    "insufficient_quota": "uploads and batch creations are answered 429 insufficient_quota",
    "reject_line_marker": "an input line containing this text fails its batch's validation, "
    "naming the line (empty: none)",
    "keep_batch_metadata": "batches keep the metadata they were created with (off: dropped)",
    "azure_deployments": "Azure paths: the Global-Batch deployments lines may name (empty: any)",
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
RANGES: dict[str, tuple[int, int]] = {"line_error_status": (400, 599)}
"""Integer settings with a range of their own (every other number is at least 0)."""


def _setting(
    field: dataclasses.Field[Any], hint: Any, help: str, choices: tuple[str, ...]
) -> Setting:
    """One config field as a setting: its type, its default, its range or choices."""
    default = (
        field.default if field.default_factory is dataclasses.MISSING else field.default_factory()
    )
    if isinstance(default, tuple):
        default = list(default)
    kind = _KINDS[hint]
    numeric = kind in (int, float)
    fraction = field.name.startswith("rate_") or field.name.endswith("_fraction")
    low, high = RANGES.get(field.name, (0, 1 if fraction else None))
    return Setting(
        field.name,
        kind,
        default,
        help,
        choices=choices,
        ge=low if numeric else None,
        le=high if numeric else None,
        optional=hint == str | None,
        secret=field.name == "api_key",
    )


def emulator_section(
    name: str, description: str, config: type[ConfigBase], help: Mapping[str, str]
) -> Section:
    """A provider emulator's settings section: ``port`` and one key per field of its config
    class (types and defaults from the dataclass, so the two cannot drift), validated by the
    config class itself."""
    hints = typing.get_type_hints(config)

    def problems(values: Mapping[str, Any]) -> Iterable[str]:
        """What the config class itself refuses (unknown operations and the like)."""
        try:
            config.from_dict({key: value for key, value in values.items() if key != "port"})
        except (TypeError, ValueError) as exc:
            yield f"{name}.{exc}; valid operations: {', '.join(config.OPERATIONS)}"

    return Section(
        name,
        description,
        (
            Setting("port", int, 0, "the port on 127.0.0.1 (0: any free one)", ge=0, le=65535),
            *(
                _setting(f, hints[f.name], help[f.name], config.CHOICES.get(f.name, ()))
                for f in dataclasses.fields(config)
            ),
        ),
        validate=problems,
    )


EMULATOR = emulator_section(
    "emulator",
    "The OpenAI-compatible Batch API emulator (batchkernel emulator, the demo, the tests): "
    "lifecycle timings, limits and fault injection.",
    EmulatorConfig,
    HELP,
)


@hookimpl
def declare_settings() -> list[Section]:
    """The ``[emulator]`` section."""
    return [EMULATOR]
