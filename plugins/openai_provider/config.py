"""The provider's settings (``[openai]``), read into one frozen value per call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kernel.types import ConfigError


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """Typed view of ``kernel.settings.openai``; re-read on every hook so changes apply at once."""

    base_url: str
    api_key: str
    timeout_seconds: float
    connect_timeout_seconds: float
    max_retries: int
    backoff_base_seconds: float
    backoff_max_seconds: float
    circuit_failure_threshold: int
    circuit_reset_seconds: float
    file_retention: str
    input_expires_after_seconds: int = 604_800
    output_expires_after_seconds: int = 604_800
    sweep_interval_seconds: float = 3_600.0

    @classmethod
    def from_settings(cls, settings: Any) -> ProviderConfig:
        """Build from a dynaconf settings object, applying the shipped defaults for absent keys."""
        section = settings.get("openai") or {}
        try:
            return cls(
                base_url=str(section.get("base_url", "https://api.openai.com/v1")),
                api_key=str(section.get("api_key") or ""),
                timeout_seconds=float(section.get("timeout_seconds", 60)),
                connect_timeout_seconds=float(section.get("connect_timeout_seconds", 5)),
                max_retries=max(0, int(section.get("max_retries", 3))),
                backoff_base_seconds=max(0.0, float(section.get("backoff_base_seconds", 0.5))),
                backoff_max_seconds=max(0.0, float(section.get("backoff_max_seconds", 30))),
                circuit_failure_threshold=max(1, int(section.get("circuit_failure_threshold", 5))),
                circuit_reset_seconds=max(0.0, float(section.get("circuit_reset_seconds", 300))),
                file_retention=str(section.get("file_retention", "delete")),
                input_expires_after_seconds=int(
                    section.get("input_expires_after_seconds", 604_800)
                ),
                output_expires_after_seconds=int(
                    section.get("output_expires_after_seconds", 604_800)
                ),
                sweep_interval_seconds=max(0.0, float(section.get("sweep_interval_seconds", 3600))),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid [openai] setting: {exc}") from exc

    def __repr__(self) -> str:
        """Show every setting except the API key, so the config can be logged safely."""
        return (
            f"ProviderConfig(base_url={self.base_url!r}, api_key={'***' if self.api_key else ''!r}, "
            f"timeout_seconds={self.timeout_seconds}, max_retries={self.max_retries}, "
            f"file_retention={self.file_retention!r})"
        )
