"""The hook specifications: the whole contract between the kernel and its plugins.

Provider hooks are ``firstresult=True``: exactly one plugin answers and ``None`` means "not mine,
ask the next one". Broadcast hooks (``record_metric``) reach every implementation and return
nothing. Every hook but the command-line and settings hooks takes ``kernel``, typed
as the :class:`kernel.api.KernelAPI` protocol (implemented by the :class:`kernel.manager.Kernel`
facade), so plugins stay stateless about configuration: settings, database and metrics come
through it.

Processors (``original``, ``optimized``) answer the database hooks; the ``openai`` provider
answers the provider hooks; cache plugins answer ``get_companies`` first; exporters listen to
``record_metric``. The scheduler (``kernel.scheduler``) calls the pipeline hooks through
``Kernel``; the command line calls ``register_commands`` and ``explain_error``; the monitoring
snapshot calls ``merge_status``; the benchmark calls ``benchmark_probes``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from kernel import PROJECT

if TYPE_CHECKING:
    import typer

    from kernel.api import KernelAPI
    from kernel.settingspec import Section
    from kernel.types import (
        ApplySummary,
        BatchPlan,
        Company,
        HealthCheck,
        LLMResult,
        LocalBatch,
        Metric,
        Probe,
        ProviderBatch,
        ProviderHealth,
        ProviderLimits,
        RequestEncoder,
        ResultFiles,
        RetrySummary,
        SubmittedBatch,
        TaskSpec,
    )

_hookspec = pluggy.HookspecMarker(PROJECT)


class ProcessorSpec:
    """Database work of the pipeline, answered by a processor plugin (and a cache in front)."""

    @_hookspec(firstresult=True)
    def get_companies(self, kernel: KernelAPI) -> list[Company] | None:
        """Return the ACTIVE companies to process, in a stable order.

        First result wins. Cache plugins answer first (``tryfirst``) with a cached list, or
        ``None`` on a miss so the processor queries the database. Called by every scheduler task
        at the start of its step.

        .. versionadded:: 0.1

        Example::

            @hookimpl
            def get_companies(self, kernel):
                return [Company(id="c1", name="Acme")]
        """

    @_hookspec
    def companies_changed(self, kernel: KernelAPI, company_ids: Sequence[str]) -> None:
        """Companies were added or changed status through batchkernel; drop what depends on them.

        Broadcast; cache plugins invalidate so the change is seen at once. Called by the importer
        after it creates companies and by ``batchkernel companies set-status``. Must not raise.

        .. versionadded:: 0.1
        """

    @_hookspec(firstresult=True)
    def select_companies(
        self, kernel: KernelAPI, companies: Sequence[Company]
    ) -> list[Company] | None:
        """Choose which companies the create task claims work for now, in serving order.

        Returns the companies to pass to ``fetch_pending`` (a subset, each with ``max_batches``
        set to its share of this cycle's batch slots; companies held back by a budget or a limit
        are left out so their requests simply wait), or ``None`` to claim for all of them. First
        result wins. Called by the create task between ``get_companies`` and ``fetch_pending``.

        .. versionadded:: 0.3
        """

    @_hookspec(firstresult=True)
    def admit_batches(
        self, kernel: KernelAPI, plans: Sequence[BatchPlan]
    ) -> list[tuple[BatchPlan, bool, str]] | None:
        """Decide, atomically across instances, which claimed plans may be submitted now.

        Returns one ``(plan, admitted, reason)`` per plan. An admitted plan's estimate is
        recorded on its batch in the same transaction that checked budgets and limits, so two
        instances can never both spend the last of a budget; the create task gives refused plans
        back with ``abandon_plan(plan, reason)`` (no attempt spent). ``None``: no admission
        control, every plan goes. First result wins. Called by the create task after
        ``fetch_pending`` and before ``submit_batch``.

        .. versionadded:: 0.3
        """

    @_hookspec(firstresult=True)
    def fetch_pending(
        self, kernel: KernelAPI, companies: Sequence[Company], flush: bool
    ) -> list[BatchPlan] | None:
        """Claim pending requests of ``companies`` into new local batches and write their input files.

        Each returned plan is committed (batch row in PLANNED with its submission key, members in
        BATCHING_IN_PROGRESS) before this returns, and its JSONL file is complete on disk, within
        the limits in ``kernel.settings.batch``, and at most ``company.max_batches`` plans per
        company when that is above 0. ``flush`` True sends small batches at once instead of
        waiting for ``batch.min_batch_size`` requests or ``batch.max_wait_minutes`` (the
        scheduler's ``run --until-idle``). Returns ``[]`` when there is nothing to submit,
        ``None`` if this plugin does not handle it. Called by the create task.

        .. versionadded:: 0.1
        .. versionchanged:: 0.5
           ``flush`` (was read from a setting the scheduler changed at run time).
        """

    @_hookspec(firstresult=True)
    def record_submitted(
        self, kernel: KernelAPI, submissions: Sequence[tuple[BatchPlan, SubmittedBatch]]
    ) -> list[str] | None:
        """Record that the provider accepted these plans (PLANNED -> provider status), in one go.

        Returns the ids of the batches that moved; a plan missing from the answer was no longer
        PLANNED (another instance adopted or abandoned it) and its provider batch is an orphan.
        Called by the create task after its ``submit_batch`` calls, and by the reconcile task
        when it adopts batches found by their submission keys.

        .. versionadded:: 0.1
        """

    @_hookspec(firstresult=True)
    def abandon_plan(self, kernel: KernelAPI, plan: BatchPlan, reason: str) -> bool | None:
        """Give up a plan the provider never accepted: members back to the queue, no attempt spent.

        Returns True if the plan was still PLANNED and is now ABANDONED. Called by the create task
        when the provider refused the batch for sure, and by the reconcile task for stale plans.

        .. versionadded:: 0.1
        """

    @_hookspec(firstresult=True)
    def fetch_stale_plans(
        self, kernel: KernelAPI, older_than_seconds: float
    ) -> list[BatchPlan] | None:
        """Return plans left in PLANNED for longer than ``older_than_seconds`` (a crash mid-submit).

        Called by the reconcile task, which then adopts or abandons each one.

        .. versionadded:: 0.1
        """

    @_hookspec(firstresult=True)
    def fetch_inflight(
        self, kernel: KernelAPI, companies: Sequence[Company]
    ) -> list[LocalBatch] | None:
        """Return the local batches submitted and not yet ended at the provider. Poll task.

        .. versionadded:: 0.1
        """

    @_hookspec(firstresult=True)
    def record_batch_statuses(
        self, kernel: KernelAPI, updates: Sequence[tuple[LocalBatch, ProviderBatch]]
    ) -> int | None:
        """Store polled provider statuses; each update is conditional on the expected old status.

        A late or repeated poll never moves a batch backwards. Returns how many rows changed.
        Called by the poll task with every status it fetched in one step.

        .. versionadded:: 0.1
        """

    @_hookspec(firstresult=True)
    def fetch_finished(
        self, kernel: KernelAPI, companies: Sequence[Company]
    ) -> list[LocalBatch] | None:
        """Return batches that ended at the provider and whose results are not applied yet.

        Called by the apply task.

        .. versionadded:: 0.1
        """

    @_hookspec(firstresult=True)
    def apply_results(
        self, kernel: KernelAPI, results: Sequence[tuple[LocalBatch, ResultFiles]]
    ) -> ApplySummary | None:
        """Apply finished batches' output and error files to their member requests and sessions.

        Matches lines by ``custom_id``, validates content, writes results, tokens and cost; fails,
        re-queues or completes every member so none stays in flight; marks each batch APPLIED.
        Idempotent: applying the same batch twice changes nothing the second time. Called by the
        apply task once per step with every batch it downloaded, so a processor can work set-based.

        .. versionadded:: 0.1
        """

    @_hookspec(firstresult=True)
    def company_concurrency(self, kernel: KernelAPI) -> int | None:
        """How many companies' provider work (submissions, downloads) may run at once.

        The processor decides: the original answers 1 (one company at a time, as the original
        system did); the optimized one answers ``processing.max_concurrent_companies`` unless
        ``processing.enable_parallel_processing`` is false. Called by the scheduler each step.

        .. versionadded:: 0.1
        """

    @_hookspec(firstresult=True)
    def retry_failed(self, kernel: KernelAPI, companies: Sequence[Company]) -> RetrySummary | None:
        """Close requests that used up their attempts and re-queue members stranded by ended batches.

        Called by the retry task.

        .. versionadded:: 0.1
        """


class ProviderSpec:
    """Calls to the batch provider, answered by a provider plugin (``openai``).

    Several provider plugins may be registered at once: each answers only for its own provider
    name (``provider``, ``plan.provider``, ``batch.provider``) and returns ``None`` otherwise.
    """

    @_hookspec(firstresult=True)
    def provider_limits(self, kernel: KernelAPI, provider: str) -> ProviderLimits | None:
        """What one batch may hold at ``provider``: requests, bytes, custom id rules.

        Processors never plan a batch above these, whatever ``batch.*`` settings say. First
        result wins; ``None``: not this plugin's provider. Called when a processor plans batches.

        .. versionadded:: 0.6
        """

    @_hookspec(firstresult=True)
    def request_encoder(
        self, kernel: KernelAPI, provider: str, model: str
    ) -> RequestEncoder | None:
        """An encoder of neutral requests (:class:`kernel.types.LLMRequest`) for ``model`` at
        ``provider``: ``encode`` gives one record of the provider's input file, ``count_tokens``
        the input tokens the provider will count.

        First result wins; ``None``: not this plugin's provider. Called by processors while they
        write batch input files.

        .. versionadded:: 0.6
        """

    @_hookspec(firstresult=True)
    def read_results(
        self, kernel: KernelAPI, batch: LocalBatch, files: ResultFiles
    ) -> Iterable[LLMResult] | None:
        """Stream the neutral results (:class:`kernel.types.LLMResult`) of a batch's downloaded
        result files, one per record, in file order.

        Answered by the plugin of ``batch.provider``; ``None``: not its batch. The processor
        matches results to requests by ``custom_id`` and validates each answer against its
        task's schema. Called by the apply step.

        .. versionadded:: 0.6
        """

    @_hookspec(firstresult=True)
    def provider_health(self, kernel: KernelAPI, provider: str) -> ProviderHealth | None:
        """Whether ``provider`` takes new batches now (quota spent, circuit open, bad settings).

        First result wins; ``None``: not this plugin's provider (taken as healthy). Called by the
        create step and by routing before batches are planned for a provider.

        .. versionadded:: 0.6
        """

    @_hookspec(firstresult=True)
    def route_companies(
        self, kernel: KernelAPI, companies: Sequence[Company]
    ) -> dict[str, str] | None:
        """Choose the provider each company's new batches go to now, as ``{company id: name}``.

        The ``routing`` plugin answers: the first provider of the company's own list
        (``Company.providers``) or of ``routing.providers`` that takes new batches
        (``provider_health`` ok, its enqueued-token limit not reached). A company left out of
        the answer gets no new batches this time (every provider of its list is unavailable).
        Batches already at a provider always finish there. First result wins; ``None``: every
        company goes to the first configured provider. Called once per ``fetch_pending`` by the
        processors, before they plan.

        .. versionadded:: 0.6
        """

    @_hookspec(firstresult=True)
    def submit_batch(self, kernel: KernelAPI, plan: BatchPlan) -> SubmittedBatch | None:
        """Upload ``plan``'s input file and create the provider batch, tagged with its submission key.

        Raises :class:`kernel.types.ProviderError` (``retryable`` says whether the plan may be
        tried again) or returns the accepted batch. A lost answer is found later through
        ``find_batch``; the provider never blindly repeats a create. Called by the create task.

        .. versionadded:: 0.1
        """

    @_hookspec(firstresult=True)
    def poll_batch(self, kernel: KernelAPI, batch: LocalBatch) -> ProviderBatch | None:
        """Fetch one batch's current status from the provider. Called by the poll task.

        .. versionadded:: 0.1
        """

    @_hookspec(firstresult=True)
    def find_batch(self, kernel: KernelAPI, plan: BatchPlan) -> ProviderBatch | None:
        """Look for a provider batch created for ``plan`` (by its submission key in metadata).

        Returns ``None`` when the provider has no such batch. Called by the reconcile task.

        .. versionadded:: 0.1
        """

    @_hookspec(firstresult=True)
    def download_results(
        self, kernel: KernelAPI, batch: LocalBatch, directory: Path
    ) -> ResultFiles | None:
        """Stream the batch's output and error files into ``directory``. Called by the apply task.

        .. versionadded:: 0.1
        """

    @_hookspec(firstresult=True)
    def cancel_batch(self, kernel: KernelAPI, batch: LocalBatch) -> ProviderBatch | None:
        """Ask the provider to cancel a running batch. Called by the reconcile task.

        .. versionadded:: 0.1
        """

    @_hookspec
    def discard_submission(self, kernel: KernelAPI, plan: BatchPlan) -> None:
        """Delete whatever the provider holds for a plan that was abandoned (an uploaded input
        file whose batch was never created). Broadcast; must not raise. Called by the reconcile
        task after it abandons a stale plan.

        .. versionadded:: 0.1
        """

    @_hookspec(firstresult=True)
    def cleanup_batch(self, kernel: KernelAPI, batch: LocalBatch) -> bool | None:
        """Delete the provider-side files of an applied batch, per the retention setting.

        Returns True when none of the batch's files is left at the provider (deleted, already
        gone, or kept on purpose by the retention setting) and False when one may still be there:
        the kernel marks only True batches cleaned and retries the others on later apply passes.
        First result wins; must not raise. Called by the apply task after results land.

        .. versionadded:: 0.1
        .. versionchanged:: 0.4
           First result, returning whether the files are gone (was a broadcast with no result).
        """

    @_hookspec
    def sweep_provider_files(
        self, kernel: KernelAPI, settled: Callable[[Sequence[str]], set[str]]
    ) -> int | None:
        """Delete this project's files still at the provider that no local batch needs any more.

        Lists every file at the provider (all pages), keeps those it can tie to a submission
        key, asks ``settled(keys)`` which of those keys belong to batches that are over (applied
        or abandoned) and deletes their files; files it cannot tie to a local batch are left to
        expire. Returns how many files it deleted. Catches what a failed or interrupted cleanup
        left behind. Broadcast: every provider plugin sweeps its own files; must not raise.
        Called by the reconcile task.

        .. versionadded:: 0.4
        .. versionchanged:: 0.6
           Broadcast (was first result), so each of several registered providers sweeps.
        """


class TelemetrySpec:
    """Observability: every exporter sees every measurement."""

    @_hookspec
    def record_metric(self, kernel: KernelAPI, metric: Metric) -> None:
        """Receive one measurement. Broadcast (1:N), no return value, must never raise.

        Names follow OpenTelemetry conventions in base units (``batchkernel.requests``,
        ``batchkernel.task.duration`` in ``s``). Called through ``Kernel.metric``.

        .. versionadded:: 0.1
        """

    @_hookspec(firstresult=True)
    def run_task(
        self, kernel: KernelAPI, task: str, step: Callable[[], dict[str, float]]
    ) -> dict[str, float] | None:
        """Run one scheduler task's ``step`` and return its counts.

        The kernel's ``core`` plugin answers last by calling ``step()``; telemetry plugins wrap this
        hook (``wrapper=True, tryfirst=True``) to put a span or a timer around every task. Called
        by the scheduler for each task run.

        .. versionadded:: 0.1
        """

    @_hookspec(firstresult=True)
    def run_cycle(
        self, kernel: KernelAPI, step: Callable[[], dict[str, float]]
    ) -> dict[str, float] | None:
        """Run one scheduler cycle (one pass over the due tasks) and return its totals.

        The kernel's ``core`` plugin answers last by calling ``step()``, which runs the tasks
        through ``run_task``; telemetry plugins wrap this hook (``wrapper=True, tryfirst=True``)
        so a cycle span is the parent of the task spans. Called by the scheduler once per pass.

        .. versionadded:: 0.2
        """

    @_hookspec
    def shutdown(self, kernel: KernelAPI) -> None:
        """Release what a plugin holds (connections, files, threads) before the kernel closes.

        Broadcast; must not raise. Called by ``Kernel.close``.

        .. versionadded:: 0.1
        """

    @_hookspec
    def collect_status(self, kernel: KernelAPI) -> dict[str, Any] | None:
        """Return this plugin's part of the monitoring snapshot, as ``{section: data}``.

        Broadcast: every plugin may contribute (cache hits and misses, circuit breakers, the
        fallback tracker's choice). Each running scheduler stores its plugins' sections in its
        instance row after every task; ``batchkernel status`` and ``serve`` merge the sections of
        the live instances with ``merge_status``. Data must be JSON-ready. Must not raise.

        .. versionadded:: 0.1
        """

    @_hookspec(firstresult=True)
    def merge_status(self, kernel: KernelAPI, section: str, parts: Sequence[Any]) -> Any | None:
        """Merge one status section reported by several scheduler instances into one.

        ``parts`` are the live instances' values of ``section``, newest heartbeat first. The
        plugin that owns the section answers (counts summed, rates recomputed, the worst state
        kept); ``None``: not mine. Unanswered, the newest instance's part is shown. First result
        wins. Called when the monitoring snapshot is built (``status``, ``serve``).

        .. versionadded:: 0.5
        """


class HealthSpec:
    """What a plugin needs to work, checked before ``run`` claims work and by ``doctor``."""

    @_hookspec
    def health_checks(self, kernel: KernelAPI, remote: bool) -> list[HealthCheck] | None:
        """Check what this plugin needs: keys present, a backend reachable, a directory writable.

        Returns one :class:`kernel.types.HealthCheck` per thing checked (``None``: nothing to
        check). ``remote`` False skips calls to the batch provider (``run --no-provider-check``);
        a provider checks its endpoint with one cheap call (a list of one item) otherwise. Every
        failure names the setting or variable to fix. Broadcast; must not raise; keep each check
        within a few seconds. Called by ``run`` before it claims anything (a failing
        ``blocking`` check stops it) and by ``batchkernel doctor``.

        .. versionadded:: 0.6
        """

    @_hookspec
    def describe_setup(self, kernel: KernelAPI) -> dict[str, str] | None:
        """Return facts for the start-up banner of ``run``, as ``{label: text}``.

        A provider names itself and its endpoint (``{"provider": "openai at https://..."}``),
        never a secret. Broadcast; must not raise; no network calls. Called once when ``run``
        starts.

        .. versionadded:: 0.6
        """


class CommandSpec:
    """The ``batchkernel`` command line, extended by plugins."""

    @_hookspec
    def register_commands(self, cli: typer.Typer) -> None:
        """Add this plugin's commands to the root ``batchkernel`` Typer app.

        Broadcast, called once per start before the arguments are parsed, on a plugin manager
        built from the settings (or from the shipped defaults when those cannot be loaded, so
        ``--help`` still lists every command). Add commands with ``cli.command(name)`` or groups
        with ``cli.add_typer``; a command opens its kernel with
        :func:`plugins.cli.options.open_kernel`. Import heavy modules inside the command, not at
        module level, so ``batchkernel --help`` stays fast. A name another plugin already added
        is refused (third-party: warned and skipped).

        .. versionadded:: 0.5

        Example::

            @hookimpl
            def register_commands(self, cli):
                @cli.command("hello")
                def hello(settings: SettingsOption = None) -> None:
                    kernel = open_kernel(settings, None)
                    print(len(kernel.get_companies()))
        """

    @_hookspec(firstresult=True)
    def explain_error(self, error: BaseException) -> tuple[str, int] | None:
        """An expected error a command raised (database down, a missing file, a busy port) as
        one line naming the cause and the fix, and the exit status; ``None``: not known here, a
        bug whose traceback is shown. First result wins. Called by the command line's ``main``.

        .. versionadded:: 0.7
        """


class BenchmarkSpec:
    """What ``batchkernel bench`` asks the processors, so it never reaches into their modules."""

    @_hookspec
    def benchmark_probes(self, kernel: KernelAPI, stage: str) -> list[Probe] | None:
        """Name the functions of this plugin whose cost belongs to benchmark ``stage``.

        Stage ``claim``: the part of ``fetch_pending`` that locks, plans and claims requests
        (``sign`` -1 marks a function called inside it that belongs to another stage, such as
        writing the input file). The benchmark wraps each function for one run to time it and
        count its queries. Broadcast; ``None`` or ``[]``: nothing to measure. Called by the
        benchmark's worker process only.

        .. versionadded:: 0.5
        """


class TaskHookSpec:
    """Tasks: what the model is asked about a session, and the schema of its answer."""

    @_hookspec
    def register_tasks(self, kernel: KernelAPI) -> Sequence[TaskSpec] | None:
        """Return the tasks this plugin defines (:class:`kernel.types.TaskSpec`).

        Broadcast: every plugin's tasks are collected; a name defined twice is an error. The
        ``session-tasks`` plugin registers the built-in session tasks (``session_analysis``), the
        ``tasks`` plugin those of the ``[tasks.NAME]`` settings. Every task's schema is checked
        for strict structured-output compatibility when the kernel first needs its tasks.

        .. versionadded:: 0.6

        Example::

            @hookimpl
            def register_tasks(self, kernel):
                return [TaskSpec("topics", "List the topics.", {"type": "object", ...})]
        """


class SettingsSpec:
    """Settings declarations: the sections and keys each plugin reads, with defaults and rules."""

    @_hookspec
    def declare_settings(self) -> Sequence[Section]:
        """Return the settings sections this plugin owns, or adds keys to, as declarations.

        Broadcast; takes no ``kernel``: settings are loaded and checked before any kernel exists.
        The kernel asks every built-in and installed plugin, enabled or not, so a key of a plugin
        that is not enabled is still known and checked; keep the module that answers free of
        heavy imports. Defaults come only from here; unknown keys are errors. Called by
        ``kernel.settingspec.collect_declarations`` when settings are loaded.

        .. versionadded:: 0.3

        Example::

            @hookimpl
            def declare_settings(self):
                return [Section("slack", "Alerts to Slack.", (
                    Setting("webhook_url", str, "", "incoming webhook", secret=True),
                ))]
        """
        raise NotImplementedError


HOOKSPEC_CLASSES = (
    ProcessorSpec,
    ProviderSpec,
    TelemetrySpec,
    HealthSpec,
    CommandSpec,
    BenchmarkSpec,
    TaskHookSpec,
    SettingsSpec,
)
