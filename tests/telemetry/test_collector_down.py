"""A collector that is down neither blocks processing (exports run on the exporters' own
threads, never on the one processing) nor floods the log: one warning, once."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

import pytest

from plugins.otel.health import GuardedMetricExporter, GuardedSpanExporter


def dead_endpoint() -> str:
    """A loopback URL where nothing listens (a port bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def record_exporting_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the threads that call the guarded exporters, in call order."""
    threads: list[str] = []
    for exporter in (GuardedSpanExporter, GuardedMetricExporter):

        def export(self: Any, *args: Any, _inner: Any = exporter.export, **kwargs: Any) -> Any:
            threads.append(threading.current_thread().name)
            return _inner(self, *args, **kwargs)

        monkeypatch.setattr(exporter, "export", export)
    return threads


def test_dead_collector_never_blocks_processing_and_is_reported_once(
    make_pipeline: Any,
    sqlite_url: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exporting_threads = record_exporting_threads(monkeypatch)
    caplog.set_level(logging.DEBUG)
    pipeline = make_pipeline(
        sqlite_url,
        sessions=150,
        companies=5,
        telemetry__exporter="otlp",
        telemetry__endpoint=dead_endpoint(),
        telemetry__timeout_seconds=0.5,
        telemetry__export_interval_seconds=0.2,
    )
    pipeline.run(timeout=120)
    during_run = list(exporting_threads)
    plugin = pipeline.kernel.pm.get_plugin("otel")
    deadline = time.monotonic() + 60
    while plugin.telemetry.health.snapshot()["failures"] < 2 and time.monotonic() < deadline:
        plugin.force_flush(2000)
    health = plugin.telemetry.health.snapshot()
    plugin.shutdown()

    assert health["failing"] and health["failures"] >= 2, health
    processing = threading.current_thread().name
    assert processing not in during_run, "an export ran on the processing thread"
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    otel_sdk = [r for r in warnings if r.name.startswith("opentelemetry")]
    ours = [r for r in warnings if r.name == "batchkernel.otel"]
    assert not otel_sdk, [r.getMessage() for r in otel_sdk]
    assert len(ours) == 1, [r.getMessage() for r in ours]
    assert "failed" in ours[0].getMessage() and "further failures" in ours[0].getMessage()
    statuses = {r.status for r in pipeline.requests()}
    assert statuses == {"PROCESSING_COMPLETE"}
