"""The provider's settings (``[anthropic]``), read into one frozen value per call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kernel.types import ConfigError


@dataclass(frozen=True, slots=True)
class AnthropicConfig:
    """Typed view of ``kernel.settings.anthropic``; re-read on every hook so changes apply."""

    base_url: str
    api_key: str
    model: str
    max_tokens: int
    structured_output: str
    prompt_cache: bool
    timeout_seconds: float
    max_retries: int
    create_retries: int
    max_retry_wait_seconds: float
    lookup_margin_seconds: float
    batch_retention: str
    quota_cooldown_seconds: float
    sweep_interval_seconds: float

    @classmethod
    def from_settings(cls, settings: Any) -> AnthropicConfig:
        """Build from the ``anthropic`` section (declared, so every key is present and valid)."""
        section = settings.anthropic
        try:
            return cls(
                base_url=str(section.base_url),
                api_key=str(section.api_key or ""),
                model=str(section.model),
                max_tokens=int(section.max_tokens),
                structured_output=str(section.structured_output),
                prompt_cache=bool(section.prompt_cache),
                timeout_seconds=float(section.timeout_seconds),
                max_retries=int(section.max_retries),
                create_retries=int(section.create_retries),
                max_retry_wait_seconds=float(section.max_retry_wait_seconds),
                lookup_margin_seconds=float(section.lookup_margin_seconds),
                batch_retention=str(section.batch_retention),
                quota_cooldown_seconds=float(section.quota_cooldown_seconds),
                sweep_interval_seconds=float(section.sweep_interval_seconds),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid [anthropic] setting: {exc}") from exc

    def __repr__(self) -> str:
        """Every setting but the API key, so the config can be logged safely."""
        return (
            f"AnthropicConfig(base_url={self.base_url!r}, api_key={'***' if self.api_key else ''!r}, "
            f"model={self.model!r}, max_tokens={self.max_tokens}, "
            f"structured_output={self.structured_output!r}, max_retries={self.max_retries})"
        )
