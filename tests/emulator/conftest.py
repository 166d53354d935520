"""Fixtures: a real emulator on a free loopback port and a real openai client pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest

from plugins.emulator import EmulatorServer
from tests.emulator.emulator_helpers import jsonl


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    """A fresh emulator with default settings (instant lifecycle)."""
    with EmulatorServer() as emulator:
        yield emulator


@pytest.fixture
def client(server: EmulatorServer) -> Iterator[openai.OpenAI]:
    """The real SDK, no retries, short timeout."""
    sdk = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0, timeout=60)
    yield sdk
    sdk.close()


Submit = Callable[..., Any]


@pytest.fixture
def submit(client: openai.OpenAI) -> Submit:
    """Upload lines (or raw bytes) and create a chat batch; returns the create response."""

    def _submit(lines: list[dict[str, Any]] | bytes, **create: Any) -> Any:
        data = lines if isinstance(lines, bytes) else jsonl(lines)
        uploaded = client.files.create(file=("input.jsonl", data), purpose="batch")
        return client.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            **create,
        )

    return _submit
