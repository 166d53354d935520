"""The scheduler: five tasks driving the hooks, each on its interval, one thread, instances
coordinated through the database: create, poll, apply, retry and reconcile."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError

from kernel.api import KernelAPI
from kernel.coordination import Heartbeat, TaskLeases
from kernel.crashpoints import crashpoint
from kernel.instances import InstanceRecorder
from kernel.types import (
    BatchPlan,
    BatchStatus,
    ConfigError,
    KernelError,
    LocalBatch,
    ProviderError,
    ProviderHealth,
    ResultFiles,
    SubmittedBatch,
)

TASKS = ("create", "poll", "apply", "retry", "reconcile")
COMPLETION_WINDOW = timedelta(hours=24)
LEFTOVERS_PER_PASS = 100
"""Applied batches whose files are not yet known to be gone, cleaned per apply pass at most."""


@dataclass(slots=True)
class StepReport:
    """What one run of one task did (counts are task-specific) and how long it took."""

    task: str
    seconds: float = 0.0
    queries: int = 0
    counts: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    skipped: bool = False


CycleObserver = Callable[[Sequence[StepReport], float], None]
"""Told of every cycle: its task reports and its seconds (``run`` logs a progress line from it)."""


class Scheduler:
    """Runs the pipeline's tasks against one kernel."""

    def __init__(
        self,
        kernel: KernelAPI,
        *,
        clock: Callable[[], float] = time.monotonic,
        record: bool = True,
        flush: bool = False,
        on_cycle: CycleObserver | None = None,
    ) -> None:
        self.kernel = kernel
        self.clock = clock
        self.flush = flush
        """Send small batches at once instead of waiting for them to fill."""
        self.on_cycle = on_cycle
        self.stop_event = threading.Event()
        self.last_reports: dict[str, StepReport] = {}
        self.instance = InstanceRecorder(kernel) if record else None
        self.leases: TaskLeases | None = None
        self.heartbeat: Heartbeat | None = None
        self._leftovers_after: str | None = None
        self.fatal: str | None = None
        """A misconfiguration met while working: the scheduler stops, ``run`` exits with it."""
        if self.instance is not None:
            kernel.instance_id = self.instance.id
            self.leases = TaskLeases(
                kernel, self.instance.id, float(self.settings.scheduler.lease_seconds)
            )

    def start_instance(self) -> None:
        """Register this instance and start its heartbeat (leases need a live owner): done by
        the first task run, and again by the next one when the database failed the first."""
        if self.instance is None or self.heartbeat is not None:
            return
        self.instance.register()
        assert self.leases is not None
        self.heartbeat = Heartbeat(
            self.kernel,
            self.instance.id,
            self.leases,
            float(self.settings.scheduler.heartbeat_seconds),
        )
        self.heartbeat.start()

    def stop_instance(self) -> None:
        """Stop the heartbeat and mark the instance stopped (its leases lapse or are released)."""
        if self.heartbeat is not None:
            self.heartbeat.stop()
            self.heartbeat = None
        if self.instance is not None:
            self.instance.stop()

    @property
    def settings(self) -> Any:
        """The kernel's settings."""
        return self.kernel.settings

    def interval(self, task: str) -> float:
        """Seconds between two runs of ``task`` (``scheduler.<task>_interval_seconds``)."""
        return float(self.settings.scheduler[f"{task}_interval_seconds"])

    def run_task(self, task: str) -> StepReport:
        """Run one task once, timing it and counting its queries; errors are reported, not raised."""
        report = StepReport(task)
        step = getattr(self, f"{task}_step")
        if self.leases is not None:
            try:
                self.start_instance()
                acquired = self.leases.acquire(task)
            except DBAPIError as exc:
                report.error = f"database unavailable: {exc}"
                self.kernel.log.error("task %s not started: %s", task, report.error)
                acquired = False
            if not acquired:
                report.skipped = True
                return report
        start = time.perf_counter()
        try:
            with self.kernel.db.queries.measure() as measured:
                try:
                    report.counts = self.kernel.run_task(task, step)
                except (KernelError, DBAPIError) as exc:
                    # A lost connection fails this run only (rolled back; the pool reconnects);
                    # a misconfiguration does not go away by itself: it stops the scheduler.
                    report.error = f"{type(exc).__name__}: {exc}"
                    self.kernel.log.error("task %s failed: %s", task, report.error)
                    if isinstance(exc, ConfigError):
                        self._halt(str(exc))
                if self.fatal and not report.error:
                    report.error = f"ConfigError: {self.fatal}"
        finally:
            if self.leases is not None:
                self._release(task)
        report.seconds = time.perf_counter() - start
        report.queries = measured["queries"]
        self.last_reports[task] = report
        self.kernel.metric(
            "batchkernel.task.duration", report.seconds, kind="histogram", unit="s", task=task
        )
        self.kernel.metric(
            "batchkernel.task.queries", report.queries, kind="histogram", unit="{query}", task=task
        )
        for name, value in report.counts.items():
            if value:
                self.kernel.metric(f"batchkernel.{task}.{name}", value, task=task)
        done = {"seconds": report.seconds, "queries": report.queries, "counts": report.counts}
        self._record(task, done | {"error": report.error})
        return report

    def _record(self, task: str | None, report: dict[str, Any]) -> None:
        """Store a task's run (no ``task``: a cycle's) in the instance row; a warning if it fails."""
        if self.instance is None:
            return
        report["finished_at"] = datetime.now(UTC).isoformat()
        try:
            if task is None:
                self.instance.record_cycle(report)
            else:
                self.instance.record_task(task, report)
        except DBAPIError as exc:
            what = "the cycle" if task is None else f"the run of task {task}"
            self.kernel.log.warning("could not record %s: %s", what, exc)

    def _halt(self, reason: str) -> None:
        """Stop for good after a misconfiguration: no more claims, no new step."""
        if self.fatal is None:
            self.fatal = reason
            self.kernel.log.error("stopping: %s", reason)
        self.stop_event.set()

    def _release(self, task: str) -> None:
        """Give the task lease back; if the database is away it lapses after its TTL instead."""
        assert self.leases is not None
        try:
            self.leases.release(task)
        except DBAPIError as exc:
            self.kernel.log.warning("could not release the lease of task %s: %s", task, exc)

    def for_each_company(self, items: Sequence[Any], work: Callable[[Any], Any]) -> list[Any]:
        """``work`` on each item, in order within a company and up to ``company_concurrency``
        companies at once; results in the order of ``items``."""
        limit = self.kernel.company_concurrency()
        groups: dict[str, list[int]] = {}
        for index, item in enumerate(items):
            groups.setdefault(item.company_id, []).append(index)
        results: list[Any] = [None] * len(items)

        def run_group(indexes: list[int]) -> None:
            for index in indexes:
                results[index] = work(items[index])

        if limit == 1 or len(groups) == 1:
            for indexes in groups.values():
                run_group(indexes)
            return results
        with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="company") as pool:
            # Each group runs in a copy of the caller's context, so hook wrappers that keep
            # state in context variables (a telemetry span) see their parent in the workers.
            futures = [
                pool.submit(contextvars.copy_context().run, run_group, indexes)
                for indexes in groups.values()
            ]
            for future in futures:
                future.result()
        return results

    def paused_providers(self) -> list[ProviderHealth]:
        """The configured providers that take no new batches now (quota, billing), with why."""
        healths = [self.kernel.provider_health(name) for name in self.kernel.providers()]
        return [health for health in healths if health.condition != "ok"]

    def create_step(self) -> dict[str, float]:
        """Plan and claim batches, admit, submit and record them (nothing while every provider
        is paused)."""
        kernel = self.kernel
        paused = self.paused_providers()
        if paused and len(paused) == len(kernel.providers()):
            for health in paused:
                kernel.log.warning(
                    "no batches created: provider %s paused (%s) until %s: %s",
                    health.provider,
                    health.condition,
                    health.until.isoformat() if health.until else "?",
                    health.reason,
                )
            return {"plans": 0, "submitted": 0, "paused_providers": len(paused)}
        companies = kernel.select_companies(kernel.get_companies())
        claimed = kernel.fetch_pending(companies, flush=self.flush)
        crashpoint("after_plan_commit")
        plans = self._admit(claimed)
        counts: dict[str, float] = {
            "plans": len(claimed),
            "submitted": 0,
            "abandoned": 0,
            "deferred": 0,
            "returned": 0,
        }
        counts["held"] = len(claimed) - len(plans)
        outcomes = self.for_each_company(plans, self._submit)
        accepted = [
            (p, s) for p, s in zip(plans, outcomes, strict=True) if isinstance(s, SubmittedBatch)
        ]
        for outcome in outcomes:
            if isinstance(outcome, str):
                counts[outcome] += 1
        if accepted:
            moved = set(kernel.record_submitted(accepted))
            for plan, submitted in accepted:
                if plan.batch_id in moved:
                    counts["submitted"] += 1
                    plan.input_path.unlink(missing_ok=True)
                else:
                    counts["abandoned"] += 1
                    self._cancel_orphan(plan, submitted)
        counts["requests"] = sum(plan.request_count for plan in plans)
        return counts

    def _admit(self, plans: list[BatchPlan]) -> list[BatchPlan]:
        """The plans admission lets through; the others go back to the queue with its reason."""
        admitted = []
        for plan, ok, reason in self.kernel.admit_batches(plans):
            if ok:
                admitted.append(plan)
            else:
                self.kernel.abandon_plan(plan, reason)
        return admitted

    def _submit(self, plan: BatchPlan) -> SubmittedBatch | str:
        """Submit one plan: the provider's answer, or which count the plan adds to."""
        kernel = self.kernel
        if self.stop_event.is_set():
            kernel.abandon_plan(plan, "not submitted: the scheduler stopped first")
            return "returned"
        try:
            submitted = kernel.submit_batch(plan)
            crashpoint("after_batch_create")
            return submitted
        except ConfigError as exc:
            # Nothing reached the provider: the plan goes back to the queue, no attempt spent.
            kernel.abandon_plan(plan, f"not submitted: {exc}")
            self._halt(str(exc))
            return "returned"
        except ProviderError as exc:
            if exc.retryable:
                kernel.log.warning(
                    "batch %s: submission not confirmed (%s); the reconcile task will adopt or "
                    "abandon it",
                    plan.batch_id,
                    exc,
                )
                return "deferred"
            kernel.abandon_plan(plan, f"provider refused the batch: {exc}")
            return "abandoned"

    def _cancel_orphan(self, plan: BatchPlan, submitted: SubmittedBatch) -> None:
        """A batch the provider accepted for a plan that was already settled: cancel it."""
        kernel = self.kernel
        kernel.log.warning(
            "batch %s: provider batch %s arrived after the plan was settled; cancelling it",
            plan.batch_id,
            submitted.provider_batch_id,
        )
        orphan = LocalBatch(
            batch_id=plan.batch_id,
            company_id=plan.company_id,
            status=BatchStatus.VALIDATING,
            submission_key=plan.submission_key,
            provider_batch_id=submitted.provider_batch_id,
            input_file_id=submitted.input_file_id,
            provider=plan.provider,
        )
        try:
            kernel.cancel_batch(orphan)
        except KernelError as exc:
            kernel.log.error(
                "could not cancel orphan batch %s: %s", submitted.provider_batch_id, exc
            )
        kernel.metric("batchkernel.orphan_batches", 1, action="cancelled", provider=plan.provider)

    def poll_step(self) -> dict[str, float]:
        """Fetch the provider status of every in-flight batch and store them in one call."""
        kernel = self.kernel
        batches = kernel.fetch_inflight(kernel.get_companies())
        updates = []
        failures = 0
        for batch in batches:
            try:
                updates.append((batch, kernel.poll_batch(batch)))
            except ProviderError as exc:
                failures += 1
                kernel.log.warning("poll of batch %s failed: %s", batch.batch_id, exc)
        changed = kernel.record_batch_statuses(updates) if updates else 0
        return {"batches": len(batches), "changed": changed, "poll_failures": failures}

    def apply_step(self) -> dict[str, float]:
        """Download every ended batch's results, apply them all in one call, clean up files."""
        kernel = self.kernel
        batches = kernel.fetch_finished(kernel.get_companies())
        directory = kernel.workdir / "results"
        directory.mkdir(parents=True, exist_ok=True)

        def download(batch: LocalBatch) -> ResultFiles | None:
            if self.stop_event.is_set():
                return None
            try:
                return kernel.download_results(batch, directory)
            except ProviderError as exc:
                kernel.log.warning("download for batch %s failed: %s", batch.batch_id, exc)
                return None

        downloads = self.for_each_company(batches, download)
        ready = [(b, f) for b, f in zip(batches, downloads, strict=True) if f is not None]
        counts: dict[str, float] = {
            "batches": len(batches),
            "download_failures": len(batches) - len(ready),
        }
        if not ready:
            counts["cleaned_late"] = self._clean_leftovers()
            return counts
        crashpoint("after_results_download")
        summary = kernel.apply_results(ready)
        crashpoint("after_apply")
        counts |= {name: value for name, value in asdict(summary).items() if name != "batches"}
        counts["cleanup_failures"] = len(ready) - self._clean([b for b, _ in ready])
        for _, files in ready:
            for path in (files.output_path, files.error_path):
                if path is not None:
                    path.unlink(missing_ok=True)
        counts["cleaned_late"] = self._clean_leftovers(tried={b.batch_id for b, _ in ready})
        return counts

    def _clean(self, batches: Sequence[LocalBatch]) -> int:
        """Delete these applied batches' provider files; mark cleaned those whose files are gone
        (a later pass tries the others again); how many."""
        if not batches:
            return 0
        gone = self.for_each_company(batches, self.kernel.cleanup_batch)
        cleaned = [batch.batch_id for batch, ok in zip(batches, gone, strict=True) if ok]
        if cleaned:
            self.kernel.record_cleaned(cleaned)
        return len(cleaned)

    def _clean_leftovers(self, tried: set[str] | None = None) -> int:
        """Clean the next page of applied batches not cleaned yet (an instance died, a delete
        failed), except those ``tried`` in this pass; going round, a failing one holds up none."""
        page = self.kernel.uncleaned_batches(LEFTOVERS_PER_PASS, self._leftovers_after)
        self._leftovers_after = page[-1].batch_id if len(page) == LEFTOVERS_PER_PASS else None
        return self._clean([batch for batch in page if batch.batch_id not in (tried or ())])

    def _sweep(self) -> int:
        """Delete provider files no local batch needs any more; how many."""
        return self.kernel.sweep_provider_files(self.kernel.settled_submissions)

    def retry_step(self) -> dict[str, float]:
        """Close requests out of attempts and re-queue members of settled batches."""
        kernel = self.kernel
        summary = kernel.retry_failed(kernel.get_companies())
        return {"requeued": summary.requeued, "failed": summary.failed}

    def reconcile_step(self) -> dict[str, float]:
        """Adopt or abandon stale plans; reconcile batches running past their window."""
        kernel = self.kernel
        counts: dict[str, float] = {"adopted": 0, "abandoned": 0, "cancelled": 0}
        stale_after = float(self.settings.batch.stale_plan_seconds)
        for plan in kernel.fetch_stale_plans(stale_after):
            try:
                found = kernel.find_batch(plan)
            except ProviderError as exc:
                kernel.log.warning("reconcile of plan %s deferred: %s", plan.batch_id, exc)
                continue
            if found is not None:
                submitted = SubmittedBatch(
                    found.provider_batch_id, found.input_file_id or "", found.status
                )
                counts["adopted"] += len(kernel.record_submitted([(plan, submitted)]))
            elif kernel.abandon_plan(plan, "never confirmed by the provider; re-queued"):
                counts["abandoned"] += 1
                kernel.discard_submission(plan)
        margin = timedelta(hours=float(self.settings.batch.inflight_margin_hours))
        deadline = datetime.now(UTC) - COMPLETION_WINDOW - margin
        cancelled = []
        inflight = kernel.fetch_inflight(kernel.get_companies())
        counts["stuck_cancels"] = self._reconcile_cancelling(
            [b for b in inflight if b.status == BatchStatus.CANCELLING]
        )
        for batch in inflight:
            if batch.submitted_at is None or batch.submitted_at > deadline:
                continue
            if batch.status == BatchStatus.CANCELLING:
                continue
            try:
                cancelled.append((batch, kernel.cancel_batch(batch)))
            except ProviderError as exc:
                kernel.log.warning("cancel of overdue batch %s failed: %s", batch.batch_id, exc)
        if cancelled:
            kernel.record_batch_statuses(cancelled)
            counts["cancelled"] = len(cancelled)
        counts["files_swept"] = self._sweep()
        return counts

    def _reconcile_cancelling(self, batches: Sequence[LocalBatch]) -> int:
        """Re-poll cancelling batches; one still cancelling ``batch.cancelling_timeout_seconds``
        after the cancel is taken as cancelled (how many were)."""
        if not batches:
            return 0
        kernel = self.kernel
        limit = float(self.settings.batch.cancelling_timeout_seconds)
        now = datetime.now(UTC).timestamp()
        settled = []
        forced = 0
        for batch in batches:
            try:
                remote = kernel.poll_batch(batch)
            except ProviderError as exc:
                kernel.log.warning("re-poll of cancelling batch %s failed: %s", batch.batch_id, exc)
                continue
            if remote.status != "cancelling":
                settled.append((batch, remote))
                continue
            if remote.cancelling_at is None or now - remote.cancelling_at < limit:
                continue
            kernel.log.warning(
                "batch %s: still cancelling at the provider %.0fs after the cancel; taken as "
                "cancelled",
                batch.batch_id,
                now - remote.cancelling_at,
            )
            settled.append((batch, replace(remote, status="cancelled")))
            forced += 1
        if settled:
            kernel.record_batch_statuses(settled)
        return forced

    def run_cycle(self, tasks: Sequence[str]) -> list[StepReport]:
        """Run ``tasks`` in order as one cycle (through the ``run_cycle`` hook), timed and counted."""
        reports: list[StepReport] = []

        def step() -> dict[str, float]:
            for task in tasks:
                if self.stop_event.is_set():
                    break
                reports.append(self.run_task(task))
            return {"tasks": len(reports), "errors": sum(1 for r in reports if r.error)}

        start = time.perf_counter()
        with self.kernel.db.queries.measure() as measured:
            self.kernel.run_cycle(step)
        seconds = time.perf_counter() - start
        if self.on_cycle is not None:
            self.on_cycle(reports, seconds)
        self.kernel.metric("batchkernel.cycle.duration", seconds, kind="histogram", unit="s")
        self.kernel.metric(
            "batchkernel.cycle.queries", measured["queries"], kind="histogram", unit="{query}"
        )
        errors = sum(1 for r in reports if r.error)
        done = {"seconds": seconds, "queries": measured["queries"], "errors": errors}
        self._record(None, done | {"tasks": [r.task for r in reports]})
        return reports

    def run_once(self) -> list[StepReport]:
        """Run every task once, in pipeline order, as one cycle."""
        return self.run_cycle(TASKS)

    def run_forever(self) -> None:
        """Each task on its interval until ``stop_event`` is set (the caller installs signal
        handlers that set it before the first task registers the instance, how other processes
        see it)."""
        due = dict.fromkeys(TASKS, self.clock())
        try:
            while not self.stop_event.is_set():
                now = self.clock()
                ready = [task for task in TASKS if due[task] <= now]
                if ready:
                    for report in self.run_cycle(ready):
                        due[report.task] = self.clock() + self.interval(report.task)
                self.stop_event.wait(max(0.0, min(due.values()) - self.clock()))
        finally:
            self.stop_instance()
