"""The provider's settings (``[openai]`` or ``[azure_openai]``), read into one frozen value per call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kernel.types import ConfigError

AZURE_SECTION = "azure_openai"
AZURE_ENDPOINT = "/chat/completions"
"""Azure OpenAI batches call chat completions at this path (both the batch and every line)."""


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """Typed view of the provider's section; re-read on every hook so changes apply at once.

    ``endpoint`` is the API every request line calls. ``api_version`` set means Azure OpenAI:
    ``base_url`` is then the resource endpoint and ``deployment`` the Global-Batch deployment
    every input line names.
    """

    base_url: str
    api_key: str
    endpoint: str
    models: Mapping[str, Any]
    reasoning_effort: str
    timeout_seconds: float
    connect_timeout_seconds: float
    max_retries: int
    backoff_base_seconds: float
    backoff_max_seconds: float
    circuit_failure_threshold: int
    circuit_reset_seconds: float
    file_retention: str
    input_expires_after_seconds: int
    output_expires_after_seconds: int
    sweep_interval_seconds: float
    quota_pause_seconds: float
    quota_pause_max_seconds: float
    api_version: str = ""
    deployment: str = ""
    section: str = "openai"

    @property
    def azure(self) -> bool:
        """Whether this is an Azure OpenAI resource."""
        return bool(self.api_version)

    @classmethod
    def from_settings(cls, settings: Any, section_name: str = "openai") -> ProviderConfig:
        """Build from the ``openai`` or ``azure_openai`` section (declared, so every key is
        present and valid). At Azure the section's ``endpoint`` is the resource URL."""
        section = getattr(settings, section_name)
        azure = section_name == AZURE_SECTION
        try:
            return cls(
                base_url=str(section.endpoint if azure else section.base_url),
                api_key=str(section.api_key or ""),
                endpoint=AZURE_ENDPOINT if azure else str(section.endpoint),
                models=dict(section.models),
                reasoning_effort=str(section.reasoning_effort or ""),
                timeout_seconds=float(section.timeout_seconds),
                connect_timeout_seconds=float(section.connect_timeout_seconds),
                max_retries=int(section.max_retries),
                backoff_base_seconds=float(section.backoff_base_seconds),
                backoff_max_seconds=float(section.backoff_max_seconds),
                circuit_failure_threshold=int(section.circuit_failure_threshold),
                circuit_reset_seconds=float(section.circuit_reset_seconds),
                file_retention=str(section.file_retention),
                input_expires_after_seconds=int(section.input_expires_after_seconds),
                output_expires_after_seconds=int(section.output_expires_after_seconds),
                sweep_interval_seconds=float(section.sweep_interval_seconds),
                quota_pause_seconds=float(section.quota_pause_seconds),
                quota_pause_max_seconds=float(section.quota_pause_max_seconds),
                api_version=str(section.api_version) if azure else "",
                deployment=str(section.deployment or "") if azure else "",
                section=section_name,
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid [{section_name}] setting: {exc}") from exc

    def __repr__(self) -> str:
        """Show every setting except the API key, so the config can be logged safely."""
        azure = (
            f", api_version={self.api_version!r}, deployment={self.deployment!r}"
            if self.azure
            else ""
        )
        return (
            f"ProviderConfig(base_url={self.base_url!r}, api_key={'***' if self.api_key else ''!r}, "
            f"timeout_seconds={self.timeout_seconds}, max_retries={self.max_retries}, "
            f"file_retention={self.file_retention!r}{azure})"
        )
