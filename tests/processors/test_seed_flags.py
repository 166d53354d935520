"""The four legacy environment flags, each with a real, observable effect."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.manager import Kernel
from kernel.scheduler import Scheduler
from kernel.settings import load_settings
from plugins.emulator import EmulatorConfig, EmulatorServer
from tests.processors.support import loaded_kernel


def test_enable_batch_optimization_false_uses_the_original(
    monkeypatch: Any, sqlite_url: str
) -> None:
    base = {"database.url": sqlite_url, "plugins.processor": "optimized", "plugins.autoload": False}
    assert Kernel.create(load_settings(base)).pm.get_plugin("optimized") is not None
    monkeypatch.setenv("ENABLE_BATCH_OPTIMIZATION", "false")
    kernel = Kernel.create(load_settings(base))
    assert kernel.pm.get_plugin("optimized") is None
    assert kernel.pm.get_plugin("fallback") is None
    assert kernel.company_concurrency() == 1


def test_fallback_on_errors_false_leaves_the_fallback_out(
    monkeypatch: Any, sqlite_url: str
) -> None:
    base = {"database.url": sqlite_url, "plugins.processor": "optimized", "plugins.autoload": False}
    monkeypatch.setenv("FALLBACK_ON_ERRORS", "false")
    kernel = Kernel.create(load_settings(base))
    assert kernel.pm.get_plugin("optimized") is not None
    assert kernel.pm.get_plugin("fallback") is None


@pytest.mark.parametrize("companies", [4, 16])
def test_enable_batch_operations_false_queries_per_company(
    make_kernel: Any, sqlite_url: str, tmp_path: Path, companies: int
) -> None:
    with EmulatorServer(EmulatorConfig()).start() as server:
        counts = {}
        for flag in (True, False):
            kernel = loaded_kernel(
                make_kernel,
                f"{sqlite_url}.{flag}.db",
                tmp_path / str(flag),
                server,
                processor="optimized",
                companies=companies,
                sessions=companies * 3,
                processing__enable_batch_operations=flag,
            )
            with kernel.db.queries.measure() as measured:
                kernel.fetch_inflight(kernel.get_companies())
            counts[flag] = measured["queries"]
    assert counts[True] == 2
    assert counts[False] == 1 + companies


class ConcurrencyProbe:
    """Wraps submit_batch to record how many run at the same time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0

    @hookimpl(wrapper=True, tryfirst=True)
    def submit_batch(self, kernel: KernelAPI, plan: Any) -> Any:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            time.sleep(0.05)
            return (yield)
        finally:
            with self.lock:
                self.running -= 1


@pytest.mark.parametrize(("parallel", "expected"), [(True, 3), (False, 1)])
def test_enable_parallel_processing_bounds_concurrent_companies(
    make_kernel: Any, sqlite_url: str, tmp_path: Path, parallel: bool, expected: int
) -> None:
    probe = ConcurrencyProbe()
    with EmulatorServer(EmulatorConfig()).start() as server:
        kernel = loaded_kernel(
            make_kernel,
            sqlite_url,
            tmp_path,
            server,
            processor="optimized",
            companies=8,
            sessions=80,
            processing__enable_parallel_processing=parallel,
            processing__max_concurrent_companies=3,
            extra=[("probe", probe)],
        )
        report = Scheduler(kernel, record=False, flush=True).run_task("create")
    assert report.counts["submitted"] == 8
    assert probe.peak == expected
