"""Fallback: rescue by the original, one event, no recursion, chained errors, routing and back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from kernel.api import KernelAPI
from plugins.emulator import EmulatorConfig, EmulatorServer
from plugins.fallback.tracker import ORIGINAL, PerformanceTracker
from tests.processors.support import loaded_kernel


class SimulatedFailure(Exception):
    """A failure of the optimized processor made up by a test."""


def replace_impl(kernel: KernelAPI, hook: str, plugin: str, function: Any) -> None:
    """Swap one plugin's implementation of a hook (pluggy keeps the bound method it registered)."""
    for impl in getattr(kernel.pm.hook, hook).get_hookimpls():
        if impl.plugin_name == plugin:
            impl.function = function
            return
    raise AssertionError(f"{plugin} does not implement {hook}")


class Recorder:
    """Collects metrics."""

    def __init__(self) -> None:
        self.metrics: list[Any] = []

    from kernel import hookimpl

    @hookimpl
    def record_metric(self, kernel: KernelAPI, metric: Any) -> None:
        self.metrics.append(metric)


@pytest.fixture
def kernel(make_kernel: Any, sqlite_url: str, tmp_path: Path) -> Any:
    """An optimized kernel with the fallback plugin and a metric recorder."""
    with EmulatorServer(EmulatorConfig()).start() as server:
        yield loaded_kernel(
            make_kernel,
            sqlite_url,
            tmp_path,
            server,
            processor="optimized",
            companies=3,
            sessions=30,
            extra=[("recorder", Recorder())],
        )


def test_fallback_is_registered_with_the_optimized_processor(kernel: KernelAPI) -> None:
    assert kernel.pm.get_plugin("fallback") is not None


def test_optimized_raising_gives_the_originals_answer_and_one_event(kernel: KernelAPI) -> None:
    calls: list[str] = []

    def broken(kernel: KernelAPI, companies: Any) -> Any:
        calls.append("optimized")
        raise SimulatedFailure("simulated failure")

    replace_impl(kernel, "fetch_inflight", "optimized", broken)
    companies = kernel.get_companies()
    plans = kernel.fetch_pending(companies, flush=True)
    submitted = [(plan, kernel.submit_batch(plan)) for plan in plans]
    kernel.record_submitted(submitted)
    inflight = kernel.fetch_inflight(companies)
    assert calls == ["optimized"]
    assert sorted(b.batch_id for b in inflight) == sorted(p.batch_id for p in plans)
    recorder = kernel.pm.get_plugin("recorder")
    assert recorder is not None
    events = [m for m in recorder.metrics if m.name == "batchkernel.fallback.events"]
    assert len(events) == 1 and events[0].attributes["operation"] == "fetch_inflight"
    status = kernel.collect_status()["fallback"]
    assert status["events"] == 1 and status["by_operation"]["fetch_inflight"] == 1


def test_both_failing_raises_a_chained_error(kernel: KernelAPI) -> None:
    def broken_optimized(kernel: KernelAPI, companies: Any) -> Any:
        raise SimulatedFailure("optimized broke")

    def broken_original(kernel: KernelAPI, companies: Any) -> Any:
        raise RuntimeError("original broke too")

    replace_impl(kernel, "retry_failed", "optimized", broken_optimized)
    replace_impl(kernel, "retry_failed", "original", broken_original)
    with pytest.raises(RuntimeError, match="original broke too") as info:
        kernel.retry_failed(kernel.get_companies())
    assert isinstance(info.value.__cause__, SimulatedFailure)


def test_tracker_switches_to_the_original_and_back(kernel: KernelAPI) -> None:
    fallback = kernel.pm.get_plugin("fallback")
    assert fallback is not None
    fallback.tracker = PerformanceTracker(window=10, min_samples=5, sample_every=2)
    failing = {"on": True}
    slow_original = next(
        impl.function
        for impl in kernel.pm.hook.fetch_finished.get_hookimpls()
        if impl.plugin_name == "original"
    )

    def slower_original(kernel: KernelAPI, companies: Any) -> Any:
        time.sleep(0.01)
        return slow_original(kernel=kernel, companies=companies)

    replace_impl(kernel, "fetch_finished", "original", slower_original)
    calls = {"optimized": 0}
    original_impl = next(
        impl.function
        for impl in kernel.pm.hook.fetch_finished.get_hookimpls()
        if impl.plugin_name == "optimized"
    )

    def flaky(kernel: KernelAPI, companies: Any) -> Any:
        calls["optimized"] += 1
        if failing["on"]:
            raise SimulatedFailure("flaky")
        return original_impl(kernel=kernel, companies=companies)

    replace_impl(kernel, "fetch_finished", "optimized", flaky)
    companies = kernel.get_companies()
    for _ in range(5):
        kernel.fetch_finished(companies)
    assert fallback.tracker.choice("fetch_finished").path == ORIGINAL
    before = calls["optimized"]
    kernel.fetch_finished(companies)
    assert calls["optimized"] == before, "a routed call must not touch the optimized path"
    failing["on"] = False
    for _ in range(100):
        kernel.fetch_finished(companies)
        if fallback.tracker.choice("fetch_finished").path != ORIGINAL:
            break
    choice = fallback.tracker.choice("fetch_finished")
    assert choice.path == "optimized", choice.reason
    snapshot = kernel.collect_status()["fallback"]["tracker"]["fetch_finished"]
    assert snapshot["original"]["samples"] > 0


def test_tracker_never_compares_against_an_empty_window() -> None:
    tracker = PerformanceTracker(min_samples=3)
    for _ in range(5):
        tracker.record("op", "optimized", 10.0, True)
    assert tracker.choice("op").path == "optimized"
    for _ in range(3):
        tracker.record("op", "original", 1.0, True)
    choice = tracker.choice("op")
    assert choice.path == ORIGINAL and "slower" in choice.reason
    warm = PerformanceTracker(min_samples=3)
    warm.record("op", "optimized", 1.0, False)
    assert warm.choice("op").path == "optimized" and "warming up" in warm.choice("op").reason
