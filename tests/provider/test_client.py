"""Unit tests of client construction from settings: key check, timeouts, rebuild on change."""

from __future__ import annotations

import openai
import pytest

from kernel.types import ConfigError
from plugins.openai_provider import OpenAIProvider
from plugins.openai_provider.client import ClientHolder, build_client
from plugins.openai_provider.config import ProviderConfig
from tests.provider.support import stand_in_kernel


def test_empty_key_names_the_setting_and_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key: a ConfigError naming openai.api_key and OPENAI_API_KEY, before any network call."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    kernel = stand_in_kernel(**{"openai.api_key": ""})
    with pytest.raises(ConfigError) as info:
        build_client(ProviderConfig.from_settings(kernel.settings))
    assert "openai.api_key" in str(info.value)
    assert "OPENAI_API_KEY" in str(info.value)


def test_client_uses_settings_and_no_sdk_retries() -> None:
    """base_url, timeouts from settings; SDK retries are off (our loop retries)."""
    kernel = stand_in_kernel(
        **{
            "openai.base_url": "http://127.0.0.1:9/v1",
            "openai.timeout_seconds": 42,
            "openai.connect_timeout_seconds": 3,
        }
    )
    client = build_client(ProviderConfig.from_settings(kernel.settings))
    assert str(client.base_url).rstrip("/") == "http://127.0.0.1:9/v1"
    assert client.max_retries == 0
    assert isinstance(client.timeout, openai.Timeout)
    assert (client.timeout.read, client.timeout.connect) == (42, 3)


def test_holder_rebuilds_only_when_settings_change() -> None:
    """Same settings: same client; a new base_url (emulator port) or key: a new client."""
    holder = ClientHolder()
    kernel = stand_in_kernel(**{"openai.base_url": "http://127.0.0.1:1/v1"})
    first, built = holder.get(ProviderConfig.from_settings(kernel.settings))
    assert built
    again, built = holder.get(ProviderConfig.from_settings(kernel.settings))
    assert again is first and not built
    kernel.settings.set("openai.base_url", "http://127.0.0.1:2/v1")
    moved, built = holder.get(ProviderConfig.from_settings(kernel.settings))
    assert built and moved is not first


def test_key_never_appears_in_config_repr() -> None:
    """The config can be logged: its repr hides the key."""
    kernel = stand_in_kernel(**{"openai.api_key": "sk-very-secret-value"})
    assert "sk-very-secret" not in repr(ProviderConfig.from_settings(kernel.settings))


def test_breakers_reset_when_the_endpoint_changes() -> None:
    """A different endpoint is a different service: its breakers start closed."""
    provider = OpenAIProvider()
    kernel = stand_in_kernel(**{"openai.base_url": "http://127.0.0.1:1/v1"})
    provider._setup(kernel)
    breaker = provider.breakers["create"]
    for _ in range(breaker.threshold):
        breaker.record_failure(breaker.acquire())
    assert provider.breaker_states()["create"]["state"] == "open"
    kernel.settings.set("openai.base_url", "http://127.0.0.1:2/v1")
    provider._setup(kernel)
    assert provider.breaker_states()["create"]["state"] == "closed"
