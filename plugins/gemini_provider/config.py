"""The ``[gemini]`` settings read into one frozen value per call, and the SDK client built from them."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kernel.types import ConfigError

if TYPE_CHECKING:
    from google import genai


@dataclass(frozen=True, slots=True)
class GeminiConfig:
    """Typed view of ``kernel.settings.gemini``; re-read on every hook so changes apply at once."""

    base_url: str
    api_key: str
    model: str
    max_output_tokens: int
    inline_max_bytes: int
    timeout_seconds: float
    max_retries: int
    backoff_base_seconds: float
    backoff_max_seconds: float
    circuit_failure_threshold: int
    circuit_reset_seconds: float
    file_retention: str
    sweep_interval_seconds: float

    @classmethod
    def from_settings(cls, settings: Any) -> GeminiConfig:
        """Build from the ``gemini`` section (declared, so every key is present and valid)."""
        section = settings.gemini
        try:
            return cls(
                base_url=str(section.base_url),
                api_key=str(section.api_key or ""),
                model=str(section.model),
                max_output_tokens=int(section.max_output_tokens),
                inline_max_bytes=int(section.inline_max_bytes),
                timeout_seconds=float(section.timeout_seconds),
                max_retries=int(section.max_retries),
                backoff_base_seconds=float(section.backoff_base_seconds),
                backoff_max_seconds=float(section.backoff_max_seconds),
                circuit_failure_threshold=int(section.circuit_failure_threshold),
                circuit_reset_seconds=float(section.circuit_reset_seconds),
                file_retention=str(section.file_retention),
                sweep_interval_seconds=float(section.sweep_interval_seconds),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid [gemini] setting: {exc}") from exc

    def __repr__(self) -> str:
        """Every setting but the API key, so the config can be logged."""
        return (
            f"GeminiConfig(base_url={self.base_url!r}, api_key={'***' if self.api_key else ''!r}, "
            f"model={self.model!r}, max_retries={self.max_retries})"
        )


def build_client(config: GeminiConfig) -> genai.Client:
    """A client on ``base_url`` with the configured timeout; SDK retries stay off (ours retry)."""
    if not config.api_key:
        raise ConfigError(
            "gemini.api_key is empty: set it in settings ([gemini] api_key), "
            "BATCHKERNEL_GEMINI__API_KEY or GEMINI_API_KEY"
        )
    from google import genai
    from google.genai import types

    return genai.Client(
        api_key=config.api_key,
        http_options=types.HttpOptions(
            base_url=config.base_url, timeout=int(config.timeout_seconds * 1000)
        ),
    )


class ClientHolder:
    """One client per (base_url, key, timeout), swapped when the settings change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: genai.Client | None = None
        self._key: tuple[str, str, float] | None = None

    def get(self, config: GeminiConfig) -> genai.Client:
        """The client for ``config``."""
        key = (config.base_url, config.api_key, config.timeout_seconds)
        with self._lock:
            if self._client is None or self._key != key:
                self._client = build_client(config)
                self._key = key
            return self._client
