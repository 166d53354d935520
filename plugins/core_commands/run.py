"""``batchkernel run``: check what the scheduler needs, say what runs, run, say how it ended.

Before claiming anything it checks that the database is reachable and migrated and asks every
plugin's ``health_checks`` (a provider: key present, endpoint answering unless
``--no-provider-check``); a failing check stops it with one line naming the fix. It logs a
start-up banner, one progress line per cycle at INFO, and for ``--once``/``--until-idle`` a
summary. Every mode stops cleanly on SIGTERM and SIGINT (exit 0); a task that failed, or a
misconfiguration met while working, ends ``--once``/``--until-idle`` with status 1 and the reason.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kernel.types import KernelError
from plugins.cli.options import DatabaseOption, SettingsOption, open_kernel
from plugins.common.healthchecks import health_checks
from plugins.common.until_idle import run_until_idle
from plugins.core_commands.progress import CycleProgress, describe_progress, plural

if TYPE_CHECKING:
    from kernel.manager import Kernel
    from kernel.scheduler import Scheduler

log = logging.getLogger("batchkernel.run")


class PreflightError(KernelError):
    """What ``run`` needs is missing; the message lists each problem with its fix."""


def preflight(kernel: Kernel, *, remote: bool) -> None:
    """Database reachable and migrated, every blocking plugin check passing; else one line per
    problem. Non-blocking failures are logged as warnings."""
    from plugins.cli.readiness import require_schema

    require_schema(kernel.db)
    problems = []
    for check in health_checks(kernel, remote=remote):
        if check.ok:
            log.debug("check %s: %s", check.name, check.detail)
            continue
        line = f"{check.name}: {check.detail}" + (f": {check.fix}" if check.fix else "")
        if check.blocking:
            problems.append(line)
        else:
            log.warning("%s", line)
    if problems:
        raise PreflightError("cannot start: " + "; ".join(problems))


def describe_setup(kernel: Kernel) -> dict[str, str]:
    """Facts the plugins give for the banner (``describe_setup``, ``{label: text}``); a label
    several plugins give (``provider``, with several providers registered) lists each text once."""
    facts: dict[str, list[str]] = {}
    for part in reversed(kernel.pm.hook.describe_setup(kernel=kernel)):
        for label, text in (part or {}).items():
            texts = facts.setdefault(str(label), [])
            if str(text) not in texts:
                texts.append(str(text))
    return {label: "; ".join(texts) for label, texts in facts.items()}


def banner(kernel: Kernel, mode: str) -> None:
    """The start-up line: version, mode, database (no password), processor, provider, plugins."""
    from importlib.metadata import version

    from plugins.cli.readiness import shown_url

    settings = kernel.settings
    facts = {
        "database": shown_url(kernel.db.url),
        "processor": str(settings.plugins.processor)
        if settings.processing.enable_batch_optimization
        else "original",
        **describe_setup(kernel),
    }
    plugins = sorted(
        info.name
        for info in kernel.registry
        if info.status == "enabled" and info.role not in ("command", "kernel")
    )
    text = "; ".join(f"{label} {value}" for label, value in facts.items())
    log.info(
        "batchkernel %s run%s: %s; plugins %s",
        version("batchkernel"),
        f" {mode}" if mode else "",
        text,
        ", ".join(plugins),
        extra={"fields": {"mode": mode or "forever", **facts, "plugins": plugins}},
    )


def summary(progress: CycleProgress, seconds: float, left: dict[str, int] | None) -> None:
    """The final line of ``--once``/``--until-idle``: what the run did and what is left."""
    text = (
        f"finished in {seconds:.1f} s, {plural(progress.cycles, 'cycle')}: "
        f"{describe_progress(progress.totals)}"
    )
    if left is not None:
        text += f"; left: {left['pending']:,} pending, {left['in_flight']:,} in flight"
    log.info(
        "%s",
        text,
        extra={"fields": {"seconds": round(seconds, 3), **progress.totals, **(left or {})}},
    )


def _left(kernel: Kernel) -> dict[str, int] | None:
    """Pending and in-flight requests now, or None when the database cannot say."""
    from sqlalchemy.exc import DBAPIError

    from plugins.common.schema.queries import work_left

    try:
        return work_left(kernel.db)
    except DBAPIError:
        return None


def run(
    once: Annotated[bool, typer.Option("--once", help="Run each task once, then exit.")] = False,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Run back to back until nothing is left.")
    ] = False,
    no_provider_check: Annotated[
        bool,
        typer.Option(
            "--no-provider-check",
            help="Do not call the provider before starting (scheduler.check_provider_on_start).",
        ),
    ] = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """The scheduler: create batches, poll, apply results, retry, reconcile.

    Checks the database and the provider first. Stops cleanly on SIGTERM or SIGINT (exit 0);
    --once and --until-idle exit 1 with the reason when a task failed.
    """
    from kernel.scheduler import Scheduler

    if once and until_idle:
        raise typer.BadParameter("--once and --until-idle exclude each other", param_hint="--once")
    stop = threading.Event()
    stop_on_signals(stop)  # from the start: a signal during the checks stops cleanly too
    kernel = open_kernel(settings, database)
    remote = not no_provider_check and bool(kernel.settings.scheduler.check_provider_on_start)
    preflight(kernel, remote=remote)
    mode = "--once" if once else "--until-idle" if until_idle else ""
    banner(kernel, mode)
    progress = CycleProgress()
    scheduler = Scheduler(kernel, on_cycle=progress)
    scheduler.stop_event = stop
    started = time.monotonic()
    if stop.is_set():
        log.info("stopped on request before starting")
        failures: list[str] = []
    elif once:
        failures = _once(scheduler)
    elif until_idle:
        failures = _until_idle(scheduler)
    else:
        failures = _forever(scheduler)
    if mode:
        summary(progress, time.monotonic() - started, _left(kernel))
    for failure in failures:
        _failure(failure)
    if failures:
        raise typer.Exit(code=1)


def _once(scheduler: Scheduler) -> list[str]:
    """Every task once; why it failed (empty: it did not)."""
    try:
        reports = scheduler.run_once()
    finally:
        scheduler.stop_instance()
    failed = [f"task {report.task} failed: {report.error}" for report in reports if report.error]
    if scheduler.stop_event.is_set() and not scheduler.fatal:
        log.info("stopped on request")
    return failed


def _until_idle(scheduler: Scheduler) -> list[str]:
    """Until nothing is pending or in flight; why not (empty: idle, or stopped on request)."""
    outcome = run_until_idle(scheduler)
    if outcome.idle:
        return []
    if outcome.stopped:
        log.info("stopped on request after %s", _passes(outcome.passes))
        return []
    if scheduler.fatal:
        return [f"stopped: {scheduler.fatal}"]
    return [f"not idle: {outcome.reason}"]


def _forever(scheduler: Scheduler) -> list[str]:
    """Each task on its interval until a signal; why it stopped otherwise."""
    scheduler.run_forever()
    if scheduler.fatal:
        return [f"stopped: {scheduler.fatal}"]
    log.info("stopped on request")
    return []


def _passes(count: int) -> str:
    """``1 pass``, ``3 passes``."""
    return plural(count, "pass")


def _failure(message: str) -> None:
    """A failure line on stderr, shown whatever the log level."""
    from rich.markup import escape

    from plugins.cli.options import console

    console().print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)


def stop_on_signals(stop: threading.Event) -> None:
    """On SIGTERM or SIGINT set ``stop`` (the step in progress finishes, no new one starts); a
    second signal raises ``KeyboardInterrupt`` to stop at once. Main thread only."""
    received = [0]

    def _stop(signum: int, _frame: Any) -> None:
        received[0] += 1
        name = signal.Signals(signum).name
        if received[0] > 1:
            log.warning("%s received again; stopping now", name)
            raise KeyboardInterrupt
        log.warning("%s received; stopping after the current step", name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
