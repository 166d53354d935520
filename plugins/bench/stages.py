"""One measured run: drive the pipeline's tasks by hand, pending to complete, timing each stage
and counting its queries (and, when asked, its tracemalloc peak), so both processors are measured
through the very hooks the scheduler calls."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kernel.api import KernelAPI
from kernel.scheduler import Scheduler
from kernel.types import SubmittedBatch
from plugins.bench import rss
from plugins.bench.probes import Tally, claim_probes
from plugins.common.schema.queries import requests_by_status, work_left

STAGES = ("companies", "build", "claim", "submit", "poll", "download", "apply", "retry")
MAX_PASSES = 50


@dataclass(slots=True)
class Stage:
    """What one stage cost over the whole run (CPU: this process's, so a database server's is
    not in it; less disturbed than wall time when other work shares the machine)."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    queries: int = 0
    calls: int = 0
    traced_peak: int = 0
    rss_peak: int = 0
    rss_growth: int = 0


@dataclass(slots=True)
class RunFigures:
    """A run's stages, passes, outcome and process memory (bytes)."""

    stages: dict[str, Stage] = field(default_factory=lambda: {s: Stage() for s in STAGES})
    passes: int = 0
    requests: int = 0
    completed: int = 0
    rss_start: int = 0
    rss_peak: int = 0


class StageDriver:
    """Runs create/poll/apply/retry passes on one kernel until no work is left."""

    def __init__(
        self, kernel: KernelAPI, *, trace_memory: bool = False, first_create: bool = False
    ) -> None:
        self.kernel = kernel
        self.scheduler = Scheduler(kernel, record=False)
        self.trace_memory = trace_memory
        self.first_create = first_create
        self.figures = RunFigures()
        self.on_stage: Callable[[str, int], None] | None = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Add the enclosed block's time, queries and traced peak to stage ``name``."""
        if self.on_stage is not None:
            self.on_stage(name, self.figures.passes)
        figures = self.figures.stages[name]
        rss.reset_peak()
        resident = rss.current()
        base = 0
        if self.trace_memory:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
        start, cpu = time.perf_counter(), time.process_time()
        with self.kernel.db.queries.measure() as measured:
            yield
        figures.seconds += time.perf_counter() - start
        figures.cpu_seconds += time.process_time() - cpu
        figures.queries += measured["queries"]
        figures.calls += 1
        figures.rss_peak = max(figures.rss_peak, rss.peak())
        figures.rss_growth = max(figures.rss_growth, rss.peak() - resident)
        self.figures.rss_peak = max(self.figures.rss_peak, figures.rss_peak)
        if self.trace_memory:
            peak = tracemalloc.get_traced_memory()[1] - base
            figures.traced_peak = max(figures.traced_peak, peak)

    def companies(self) -> list[Any]:
        """``get_companies``, as every task calls it."""
        with self.stage("companies"):
            return self.kernel.get_companies()

    def create(self) -> None:
        """Fetch pending, claim and build files (claim split out by probes); submit; record."""
        kernel = self.kernel
        companies = self.companies()
        claim = Tally()
        with claim_probes(kernel, claim), self.stage("build"):
            plans = kernel.fetch_pending(companies, flush=True)
        build, split = self.figures.stages["build"], self.figures.stages["claim"]
        build.seconds -= claim.seconds
        build.cpu_seconds -= claim.cpu_seconds
        build.queries -= claim.queries
        split.seconds += claim.seconds
        split.cpu_seconds += claim.cpu_seconds
        split.queries += claim.queries
        split.calls += claim.calls
        if self.first_create:
            # A traced building run ends here: submitting would trace the provider SDK's
            # import and uploads, seconds of tracemalloc for figures the run does not report.
            for plan in plans:
                plan.input_path.unlink(missing_ok=True)
            return
        if not plans:
            return
        with self.stage("submit"):
            outcomes = self.scheduler.for_each_company(plans, kernel.submit_batch)
            accepted = [
                (plan, sub)
                for plan, sub in zip(plans, outcomes, strict=True)
                if isinstance(sub, SubmittedBatch)
            ]
            kernel.record_submitted(accepted)
            for plan in plans:
                plan.input_path.unlink(missing_ok=True)

    def poll(self) -> None:
        """Fetch in-flight batches, poll each at the provider, store the statuses."""
        kernel = self.kernel
        companies = self.companies()
        with self.stage("poll"):
            batches = kernel.fetch_inflight(companies)
            updates = [(batch, kernel.poll_batch(batch)) for batch in batches]
            if updates:
                kernel.record_batch_statuses(updates)

    def apply(self) -> None:
        """Download ended batches' results (provider), then apply them (database)."""
        kernel = self.kernel
        companies = self.companies()
        directory = kernel.workdir / "results"
        directory.mkdir(parents=True, exist_ok=True)
        with self.stage("download"):
            batches = kernel.fetch_finished(companies)
            files = self.scheduler.for_each_company(
                batches, lambda batch: kernel.download_results(batch, directory)
            )
        if not batches:
            return
        ready = list(zip(batches, files, strict=True))
        with self.stage("apply"):
            kernel.apply_results(ready)
        with self.stage("download"):
            self.scheduler.for_each_company(batches, kernel.cleanup_batch)
            for _, result in ready:
                for path in (result.output_path, result.error_path):
                    if path is not None:
                        path.unlink(missing_ok=True)

    def retry(self) -> None:
        """Close exhausted requests, re-queue stranded ones."""
        kernel = self.kernel
        companies = self.companies()
        with self.stage("retry"):
            kernel.retry_failed(companies)

    def run(self) -> RunFigures:
        """Passes of create, poll, apply and retry until nothing is pending or in flight (or,
        with ``first_create``, only the first create task's claim and build: the batch building a
        traced run measures, without tracing the original's slow per-line apply for minutes)."""
        figures = self.figures
        figures.requests = sum(requests_by_status(self.kernel.db).values())
        figures.rss_start = rss.current()
        while any(work_left(self.kernel.db).values()):
            if figures.passes >= MAX_PASSES:
                raise RuntimeError(f"still work left after {MAX_PASSES} passes")
            figures.passes += 1
            self.create()
            if self.first_create:
                break
            self.poll()
            self.apply()
            self.retry()
        figures.completed = requests_by_status(self.kernel.db).get("PROCESSING_COMPLETE", 0)
        return figures
