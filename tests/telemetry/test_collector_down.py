"""A collector that is down neither slows processing nor floods the log: one warning, once."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import pytest


def dead_endpoint() -> str:
    """A loopback URL where nothing listens (a port bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def timed_run(pipeline: Any) -> float:
    """Seconds the pipeline takes to get idle."""
    start = time.perf_counter()
    pipeline.run(timeout=120)
    return time.perf_counter() - start


def test_dead_collector_costs_nothing_and_is_reported_once(
    make_pipeline: Any, sqlite_url: str, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    baseline = make_pipeline(f"sqlite:///{tmp_path}/base.db", sessions=150, companies=5)
    base_seconds = timed_run(baseline)
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    pipeline = make_pipeline(
        sqlite_url,
        sessions=150,
        companies=5,
        telemetry__exporter="otlp",
        telemetry__endpoint=dead_endpoint(),
        telemetry__timeout_seconds=0.5,
        telemetry__export_interval_seconds=0.2,
    )
    seconds = timed_run(pipeline)
    plugin = pipeline.kernel.pm.get_plugin("otel")
    plugin.force_flush(2000)
    time.sleep(0.6)
    plugin.force_flush(2000)
    health = plugin.telemetry.health.snapshot()
    plugin.shutdown()

    assert health["failing"] and health["failures"] >= 2, health
    assert seconds <= base_seconds * 1.5 + 1.0, (seconds, base_seconds)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    otel_sdk = [r for r in warnings if r.name.startswith("opentelemetry")]
    ours = [r for r in warnings if r.name == "batchkernel.otel"]
    assert not otel_sdk, [r.getMessage() for r in otel_sdk]
    assert len(ours) == 1, [r.getMessage() for r in ours]
    assert "failed" in ours[0].getMessage() and "further failures" in ours[0].getMessage()
    statuses = {r.status for r in pipeline.requests()}
    assert statuses == {"PROCESSING_COMPLETE"}
