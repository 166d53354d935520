"""The benchmark run: one data set, a copy per run, original and optimized alternating (and the
raw SQL floor), each run in its own child process against one zero-latency emulator; then one
traced-memory run per path and the simulated cache hour, summarized as medians and ratios."""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from plugins.bench.cachesim import simulate_hour
from plugins.bench.dataset import Template, build_template
from plugins.bench.options import PATHS, BenchOptions
from plugins.bench.summary import summarize
from plugins.emulator import EmulatorConfig, EmulatorServer


class Listener:
    """What a progress display is told; the default shows nothing."""

    def phase(self, text: str, total: int = 0) -> None:
        """A new phase begins (``total`` runs in it, 0: no count)."""

    def run_started(self, label: str) -> None:
        """A measured run starts."""

    def stage(self, label: str, stage: str, passes: int) -> None:
        """A run entered a stage."""

    def run_finished(self, label: str, seconds: float) -> None:
        """A measured run ended."""


@dataclass(slots=True)
class Plan:
    """The runs to make: (path, repetition, traced) in order."""

    runs: list[tuple[str, int, str]] = field(default_factory=list)


def plan_runs(options: BenchOptions) -> Plan:
    """Alternate the paths' order every repetition; the floor last; traced runs after all."""
    plan = Plan()
    paths = tuple(path for path in PATHS if path in options.paths)
    for rep in range(options.repetitions):
        order = paths if rep % 2 == 0 else tuple(reversed(paths))
        if options.floor:
            order = (*order, "floor")
        plan.runs += [(path, rep, "") for path in order]
    if options.memory:
        traced = (*paths, "floor") if options.floor else paths
        plan.runs += [(path, 0, options.memory) for path in traced]
    return plan


def spawn(spec: dict[str, Any], label: str, listener: Listener, log: Path) -> dict[str, Any]:
    """Run one spec in a fresh ``python -m plugins.bench.worker``; its result."""
    result: dict[str, Any] | None = None
    with (
        log.open("ab") as errors,
        subprocess.Popen(
            [sys.executable, "-m", "plugins.bench.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
        ) as child,
    ):
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(orjson.dumps(spec))
        child.stdin.close()
        for raw in child.stdout:
            event = orjson.loads(raw)
            if event["event"] == "stage":
                listener.stage(label, event["stage"], event["passes"])
            elif event["event"] == "result":
                result = event["result"]
        code = child.wait()
    if code != 0 or result is None:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise RuntimeError(f"bench run {label} failed (exit {code}):\n" + "\n".join(tail))
    return result


def environment() -> dict[str, Any]:
    """Where the figures were measured."""
    import os

    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "system": platform.platform(terse=True),
        "cpus": os.cpu_count(),
    }


def measure(
    options: BenchOptions, template: Template, base_url: str, listener: Listener
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
    """Every planned run on its own copy: timed runs by path, traced runs by path."""
    runs: dict[str, list[dict[str, Any]]] = {path: [] for path in (*PATHS, "floor")}
    traced: dict[str, dict[str, Any]] = {}
    plan = plan_runs(options)
    listener.phase("measuring", len(plan.runs))
    log = options.workdir / "worker.log"
    for path, rep, trace in plan.runs:
        label = f"{path} {'memory' if trace else f'#{rep + 1}'}"
        workdir = options.workdir / "runs" / f"{path}-{rep}{'-mem' if trace else ''}"
        url = template.copy(f"{path}_{rep}{'_mem' if trace else ''}")
        spec = {
            "path": path,
            "url": url,
            "base_url": base_url,
            "workdir": str(workdir),
            "trace_memory": trace,
            "overrides": options.overrides,
        }
        listener.run_started(label)
        start = time.perf_counter()
        try:
            result = spawn(spec, label, listener, log)
        finally:
            template.drop_copy(url)
        listener.run_finished(label, time.perf_counter() - start)
        if trace:
            traced[path] = result
        else:
            runs[path].append(result)
    return runs, traced


def run_bench(options: BenchOptions, listener: Listener | None = None) -> dict[str, Any]:
    """Build the data set, measure every run, simulate the cache hour; the full report data."""
    listener = listener or Listener()
    options.workdir.mkdir(parents=True, exist_ok=True)
    listener.phase(f"building the data set ({options.data.sessions:,} sessions)")
    started = time.perf_counter()
    template = build_template(options.database, options.workdir, options.data)
    build_seconds = time.perf_counter() - started
    emulator = EmulatorServer(EmulatorConfig(), host="127.0.0.1", port=0).start()
    try:
        runs, traced = measure(options, template, emulator.base_url, listener)
        listener.phase("simulating an hour of cache lookups")
        cache_url = template.copy("cache")
        try:
            cache = simulate_hour(cache_url, str(options.workdir / "runs" / "cache"))
        finally:
            template.drop_copy(cache_url)
    finally:
        emulator.stop()
        template.drop()
    report = summarize(runs, traced)
    report["cache_simulated_hour"] = cache
    report["options"] = options.to_dict()
    report["database"] = "postgresql" if not template.is_sqlite else "sqlite"
    report["environment"] = environment()
    report["data_set_seconds"] = build_seconds
    return report
