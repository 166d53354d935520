"""Fixtures: a real Anthropic emulator on a free loopback port and the real anthropic SDK."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from plugins.emulator_anthropic import AnthropicEmulatorServer
from tests.emulator_anthropic.anthropic_helpers import API_KEY


@pytest.fixture
def server() -> Iterator[AnthropicEmulatorServer]:
    """A fresh emulator with an API key and the instant lifecycle."""
    with AnthropicEmulatorServer({"api_key": API_KEY}) as emulator:
        yield emulator


@pytest.fixture
def client(server: AnthropicEmulatorServer) -> Iterator[anthropic.Anthropic]:
    """The real SDK, no retries, short timeout."""
    sdk = anthropic.Anthropic(base_url=server.base_url, api_key=API_KEY, max_retries=0, timeout=10)
    yield sdk
    sdk.close()
