"""Provider clients share one TLS context a process (building one loads the CA bundle), and the
HTTP client given to an SDK client is closed when that client is collected."""

from __future__ import annotations

import gc
import ssl
from typing import Any

import pytest

from plugins.anthropic_provider.client import build_client as build_anthropic
from plugins.anthropic_provider.config import AnthropicConfig
from plugins.common import tls
from plugins.openai_provider.client import build_client as build_openai
from plugins.openai_provider.config import ProviderConfig


def test_clients_share_one_tls_context(
    make_kernel: Any, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel = make_kernel(
        sqlite_url,
        anthropic__api_key="test-key",
        azure_openai__api_key="test-key",
        azure_openai__endpoint="https://example.openai.azure.com",
    )
    loads: list[object] = []
    original = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    tls.shared_ssl_context.cache_clear()
    clients = [
        build_openai(ProviderConfig.from_settings(kernel.settings)),
        build_openai(ProviderConfig.from_settings(kernel.settings, "azure_openai")),
        build_anthropic(AnthropicConfig.from_settings(kernel.settings)),
    ]
    assert len(clients) == 3
    assert len(loads) == 1


def test_the_http_client_is_closed_with_its_sdk_client(make_kernel: Any, sqlite_url: str) -> None:
    kernel = make_kernel(sqlite_url)
    client = build_openai(ProviderConfig.from_settings(kernel.settings))
    http_client = client._client
    assert not http_client.is_closed
    del client
    gc.collect()
    assert http_client.is_closed
