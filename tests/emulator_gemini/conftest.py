"""Fixtures: a Gemini emulator on a free loopback port and the real google-genai client on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google import genai
from google.genai import types

from plugins.emulator_gemini import GeminiEmulatorServer


@pytest.fixture
def server() -> Iterator[GeminiEmulatorServer]:
    """A fresh emulator with default settings (instant lifecycle)."""
    with GeminiEmulatorServer() as emulator:
        yield emulator


@pytest.fixture
def client(server: GeminiEmulatorServer) -> genai.Client:
    """The real SDK (no retries, its default) pointed at the emulator."""
    return genai.Client(
        api_key="test-key",
        http_options=types.HttpOptions(base_url=server.base_url, timeout=20_000),
    )
