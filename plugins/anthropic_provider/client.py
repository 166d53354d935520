"""Builds the official SDK client from settings, lazily, and rebuilds it when they change."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from kernel.types import ConfigError
from plugins.anthropic_provider.config import AnthropicConfig
from plugins.common.tls import close_with, shared_ssl_context

if TYPE_CHECKING:
    import anthropic


def build_client(config: AnthropicConfig) -> anthropic.Anthropic:
    """A client with the SDK's retries (429/529 wait their ``retry-after``); creates override
    them with ``max_retries=0``: the SDK sends no idempotency key and would repeat a create whose
    answer was lost."""
    if not config.api_key:
        raise ConfigError(
            "anthropic.api_key is empty: set it in settings ([anthropic] api_key), "
            "BATCHKERNEL_ANTHROPIC__API_KEY or ANTHROPIC_API_KEY"
        )
    import anthropic

    http_client = anthropic.DefaultHttpxClient(
        verify=shared_ssl_context(), timeout=config.timeout_seconds
    )
    client = anthropic.Anthropic(
        api_key=config.api_key,
        base_url=config.base_url,
        timeout=config.timeout_seconds,
        max_retries=config.max_retries,
        http_client=http_client,
    )
    close_with(client, http_client)
    return client


class ClientHolder:
    """Keeps one client per (base_url, key, timeout, retries) and swaps it when settings change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: anthropic.Anthropic | None = None
        self._key: tuple[str, str, float, int] | None = None

    def get(self, config: AnthropicConfig) -> anthropic.Anthropic:
        """The client for ``config``."""
        key = (config.base_url, config.api_key, config.timeout_seconds, config.max_retries)
        with self._lock:
            if self._client is None or self._key != key:
                self._client = build_client(config)
                self._key = key
            return self._client
