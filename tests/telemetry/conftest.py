"""Fixtures for telemetry tests: a loopback OTLP receiver and a pipeline that exports to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lifecycle.conftest import make_pipeline
from tests.telemetry.receiver import OTLPReceiver

__all__ = ["make_pipeline"]


@pytest.fixture
def processor() -> str:
    """Telemetry tests run the original processor (the processor contract is tested elsewhere)."""
    return "original"


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    """An OTLP/HTTP receiver on 127.0.0.1 (any free port)."""
    rx = OTLPReceiver().start()
    yield rx
    rx.stop()
