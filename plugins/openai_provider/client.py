"""Builds the official SDK client from settings, lazily, and rebuilds it when they change."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from kernel.types import ConfigError
from plugins.openai_provider.config import ProviderConfig

if TYPE_CHECKING:
    import openai


def build_client(config: ProviderConfig) -> openai.OpenAI:
    """A client with SDK retries off (our loop retries) and the configured timeouts."""
    if not config.api_key:
        raise ConfigError(
            "openai.api_key is empty: set it in settings ([openai] api_key), "
            "BATCHKERNEL_OPENAI__API_KEY or OPENAI_API_KEY"
        )
    import openai

    return openai.OpenAI(
        api_key=config.api_key,
        base_url=config.base_url,
        timeout=openai.Timeout(config.timeout_seconds, connect=config.connect_timeout_seconds),
        max_retries=0,
    )


class ClientHolder:
    """Keeps one client per (base_url, key, timeouts) and swaps it when settings change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: openai.OpenAI | None = None
        self._key: tuple[str, str, float, float] | None = None

    def get(self, config: ProviderConfig) -> tuple[openai.OpenAI, bool]:
        """The client for ``config`` and whether it was (re)built by this call."""
        key = (
            config.base_url,
            config.api_key,
            config.timeout_seconds,
            config.connect_timeout_seconds,
        )
        with self._lock:
            if self._client is not None and self._key == key:
                return self._client, False
            self._client = build_client(config)
            self._key = key
            return self._client, True
