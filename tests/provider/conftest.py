"""Fixtures: a real emulator on loopback, a kernel pointed at it, and plans with input files."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.types import BatchPlan, Metric
from plugins.emulator import EmulatorConfig, EmulatorServer
from plugins.openai_provider import OpenAIProvider
from tests.provider.support import FakeClock, StandInKernel

log = logging.getLogger(__name__)


class MetricRecorder:
    """A telemetry plugin that keeps every metric it receives."""

    def __init__(self) -> None:
        self.metrics: list[Metric] = []

    @hookimpl
    def record_metric(self, kernel: KernelAPI, metric: Metric) -> None:
        """Keep the measurement."""
        self.metrics.append(metric)


@dataclass
class Harness:
    """Everything a provider test needs: server, kernel, provider, fake time and recorded metrics."""

    server: EmulatorServer
    kernel: KernelAPI
    provider: OpenAIProvider
    clock: FakeClock
    metrics: list[Metric]
    workdir: Path
    plans: int = field(default=0)

    def plan(self, lines: int = 3, key: str | None = None) -> BatchPlan:
        """Write an input file of ``lines`` chat requests and return its plan."""
        self.plans += 1
        batch_id = f"b{self.plans}"
        path = self.workdir / f"{batch_id}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for index in range(lines):
                request = {
                    "custom_id": f"{batch_id}-r{index}",
                    "method": "POST",
                    "url": "/v1/chat/completions",
                    "body": {
                        "model": "gpt-4o-mini",
                        "messages": [{"role": "user", "content": f"session {index}"}],
                    },
                }
                out.write(json.dumps(request) + "\n")
        return BatchPlan(
            batch_id=batch_id,
            company_id="c1",
            model="gpt-4o-mini",
            processing_type="session_analysis",
            submission_key=key or f"key-{batch_id}-0123456789",
            input_path=path,
            request_count=lines,
            input_bytes=path.stat().st_size,
            estimated_input_tokens=10 * lines,
        )

    def values(self, name: str, **attrs: Any) -> list[float]:
        """Values of metric ``name`` whose attributes include ``attrs``."""
        return [
            m.value
            for m in self.metrics
            if m.name == name and all(m.attributes.get(k) == v for k, v in attrs.items())
        ]

    def ledger_batches(self, key: str | None = None) -> list[dict[str, Any]]:
        """Batches the emulator created, optionally only those stamped with ``key``."""
        batches = self.server.ledger()["batches"]
        if key is None:
            return batches
        return [
            b for b in batches if (b.get("metadata") or {}).get("batchkernel_submission_key") == key
        ]

    def ledger_files(self, filename: str | None = None) -> list[dict[str, Any]]:
        """Files the emulator stored (deleted ones included), optionally by filename."""
        files = self.server.ledger()["files"]
        return files if filename is None else [f for f in files if f["filename"] == filename]

    def injected(self, operation: str, fault: str) -> int:
        """How many times the emulator injected ``fault`` into ``operation``."""
        return sum(
            1
            for f in self.server.ledger()["faults"]
            if f["operation"] == operation and f["fault"] == fault
        )


def _build_kernel(
    overrides: dict[str, Any], recorder: MetricRecorder
) -> tuple[Any, OpenAIProvider]:
    """The real kernel with its built-in ``openai`` plugin, or a stand-in if the kernel cannot start."""
    try:
        from kernel.manager import Kernel

        kernel = Kernel.create(
            overrides=overrides, autoload=False, extra=[("test-metrics", recorder)]
        )
        provider = kernel.pm.get_plugin("openai")
        assert isinstance(provider, OpenAIProvider)
        return kernel, provider
    except Exception:
        log.warning("Kernel.create failed; using a stand-in kernel", exc_info=True)
        from kernel.settings import load_settings

        stand_in = StandInKernel(settings=load_settings(overrides))
        stand_in.metrics = recorder.metrics
        return stand_in, OpenAIProvider()


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """A fault-free emulator on a free loopback port, with instant batch processing."""
    with EmulatorServer(EmulatorConfig(seed=1), host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def harness(emulator: EmulatorServer, tmp_path: Path) -> Iterator[Harness]:
    """A kernel pointed at the emulator, fast backoff, fake clock and fake (recording) sleep."""
    recorder = MetricRecorder()
    workdir = tmp_path / "files"
    workdir.mkdir()
    overrides = {
        "openai.base_url": emulator.base_url,
        "openai.api_key": "test-key",
        "openai.backoff_base_seconds": 0.01,
        "openai.backoff_max_seconds": 0.05,
        "openai.timeout_seconds": 10,
        "database.url": f"sqlite:///{tmp_path}/t.db",
        "batch.workdir": str(workdir),
    }
    kernel, provider = _build_kernel(overrides, recorder)
    clock = FakeClock()
    provider.clock = clock
    provider.sleep = clock.sleep
    yield Harness(emulator, kernel, provider, clock, recorder.metrics, workdir)
    close = getattr(kernel, "close", None)
    if close is not None:
        close()
