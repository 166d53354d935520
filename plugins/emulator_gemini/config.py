"""Settings of the Gemini emulator: the shared emulator's knobs plus a few of Gemini's own.

Lifecycle timings map onto Gemini's states: ``validating_seconds`` is JOB_STATE_PENDING,
``in_progress_seconds`` JOB_STATE_RUNNING, ``cancelling_seconds`` the delay before a cancel
lands; ``completion_window_seconds`` defaults to Gemini's 48 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from plugins.emulator.config import EmulatorConfig

OPERATIONS: tuple[str, ...] = (
    "files.upload",
    "files.get",
    "files.list",
    "files.delete",
    "files.download",
    "batches.create",
    "batches.get",
    "batches.list",
    "batches.cancel",
    "batches.delete",
)


@dataclass(frozen=True)
class GeminiEmulatorConfig(EmulatorConfig):
    """Every knob of the Gemini emulator (see :class:`EmulatorConfig` for the shared ones)."""

    OPERATIONS: ClassVar[tuple[str, ...]] = OPERATIONS
    DOWNLOAD_OPERATION: ClassVar[str] = "files.download"

    chaos_operations: tuple[str, ...] = OPERATIONS
    completion_window_seconds: float = 172_800.0
    max_file_bytes: int = 2 * 1024 * 1024 * 1024
    shuffle_output: bool = False
    max_inline_bytes: int = 20 * 1024 * 1024
    server_error_code: int = 500
    thoughts_tokens: int = 0
    model_version: str | None = None
    expired_keeps_results: bool = True

    def __post_init__(self) -> None:
        """The shared checks, then Gemini's own."""
        super().__post_init__()
        if self.server_error_code not in (500, 503):
            raise ValueError(f"server_error_code must be 500 or 503, got {self.server_error_code}")
