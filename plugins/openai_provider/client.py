"""Builds the official SDK client from settings, lazily, and rebuilds it when they change."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from kernel.types import ConfigError
from plugins.common.tls import close_with, shared_ssl_context
from plugins.openai_provider.config import ProviderConfig

if TYPE_CHECKING:
    import openai

KEY_SOURCES = {
    "openai": "settings ([openai] api_key), BATCHKERNEL_OPENAI__API_KEY or OPENAI_API_KEY",
    "azure_openai": (
        "settings ([azure_openai] api_key), BATCHKERNEL_AZURE_OPENAI__API_KEY or "
        "AZURE_OPENAI_API_KEY"
    ),
}


def build_client(config: ProviderConfig) -> openai.OpenAI:
    """A client with SDK retries off (our loop retries) and the configured timeouts: the Azure
    client (``/openai/...`` paths, ``api-version``, ``api-key`` header) for an Azure resource."""
    if not config.api_key:
        raise ConfigError(
            f"{config.section}.api_key is empty: set it in {KEY_SOURCES[config.section]}"
        )
    import openai

    timeout = openai.Timeout(config.timeout_seconds, connect=config.connect_timeout_seconds)
    http_client = openai.DefaultHttpxClient(verify=shared_ssl_context(), timeout=timeout)
    client: openai.OpenAI
    if config.azure:
        client = openai.AzureOpenAI(
            azure_endpoint=config.base_url,
            api_key=config.api_key,
            api_version=config.api_version,
            timeout=timeout,
            max_retries=0,
            http_client=http_client,
        )
    else:
        client = openai.OpenAI(
            api_key=config.api_key,
            base_url=config.base_url,
            timeout=timeout,
            max_retries=0,
            http_client=http_client,
        )
    close_with(client, http_client)
    return client


class ClientHolder:
    """Keeps one client per (endpoint, key, api version, timeouts) and swaps it when settings
    change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: openai.OpenAI | None = None
        self._key: tuple[str, str, str, float, float] | None = None

    def get(self, config: ProviderConfig) -> tuple[openai.OpenAI, bool]:
        """The client for ``config`` and whether it was (re)built by this call."""
        key = (
            config.base_url,
            config.api_key,
            config.api_version,
            config.timeout_seconds,
            config.connect_timeout_seconds,
        )
        with self._lock:
            if self._client is not None and self._key == key:
                return self._client, False
            self._client = build_client(config)
            self._key = key
            return self._client, True
