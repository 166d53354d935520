"""One measured run in a fresh child process (``python -m plugins.bench.worker``), so that peak
RSS and imports of one run never leak into another. Reads a JSON spec on stdin; writes progress
events and finally the result as JSON lines on stdout."""

from __future__ import annotations

import dataclasses
import logging
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import orjson

from plugins.bench.stages import StageDriver
from plugins.bench.warmup import warm_up


def emit(event: str, **payload: Any) -> None:
    """One JSON line for the parent."""
    sys.stdout.buffer.write(orjson.dumps({"event": event, **payload}) + b"\n")
    sys.stdout.flush()


def path_settings(path: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Settings of one path: the processor, its usual plugins, the copy and the emulator."""
    workdir = Path(spec["workdir"])
    settings: dict[str, Any] = {
        "database.url": spec["url"],
        "batch.workdir": str(workdir / "files"),
        "cache.directory": str(workdir / "cache"),
        "plugins.autoload": False,
        "plugins.processor": path,
        "openai.base_url": spec["base_url"],
        "openai.api_key": "bench-key-not-secret",
        "telemetry.exporter": "none",
    }
    if path == "original":
        settings["plugins.cache"] = "none"
    settings.update(spec.get("overrides") or {})
    return settings


def run_pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    """A full run of one processor on one copy: stage figures, memory and plugin status."""
    from kernel.manager import Kernel

    kernel = Kernel.create(overrides=path_settings(spec["path"], spec))
    try:
        mode = spec.get("trace_memory") or ""
        driver = StageDriver(kernel, trace_memory=bool(mode), first_create=mode == "build")
        driver.on_stage = lambda name, passes: emit("stage", stage=name, passes=passes)
        if driver.trace_memory:
            warm_up(kernel)
            tracemalloc.start()
        figures = driver.run()
        status = kernel.collect_status()
        out = dataclasses.asdict(figures)
        out["cache"] = status.get("cache")
        out["fallback_events"] = (status.get("fallback") or {}).get("events", 0)
        return out
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
        kernel.close()


def run_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """The raw SQL floor on one copy."""
    from plugins.bench.floor import run_floor as floor

    figures = floor(
        spec["url"],
        Path(spec["workdir"]),
        trace_memory=bool(spec.get("trace_memory")),
        first_create=spec.get("trace_memory") == "build",
        overrides=spec.get("overrides") or {},
    )
    figures["rss_peak"] = max(stage["rss_peak"] for stage in figures["stages"].values())
    return figures


def main() -> None:
    """Read the spec, run it, print the result."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    spec = orjson.loads(sys.stdin.buffer.read())
    result = run_floor(spec) if spec["path"] == "floor" else run_pipeline(spec)
    emit("result", result=result)


if __name__ == "__main__":
    main()
