"""The demo run: a fresh SQLite file (or a given database), synthetic sessions, the emulator, the
pipeline until idle with a progress display, then a summary of what happened.

The emulator runs in this process, started through the chosen provider's emulator library
(:class:`plugins.emulator.EmulatorServer` for OpenAI, on a free loopback port): nothing to install
or stop separately, and the port it bound is known at once. Requests use the provider's own
model setting (``gemini.model``, ``anthropic.model``) so that costs use its price.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select

from kernel.db.migrate import upgrade
from kernel.manager import Kernel
from kernel.scheduler import Scheduler
from kernel.settings import load_settings
from plugins.common.importing.importer import import_file
from plugins.common.schema.models import AIProcessingRequest
from plugins.common.schema.queries import batches_by_status, requests_by_status
from plugins.common.schema.statuses import RequestStatus
from plugins.common.synthetic import write_jsonl
from plugins.common.until_idle import run_until_idle
from plugins.emulator import EmulatorServer

DEMO_DIR = Path(".batchkernel/demo")
EMULATORS: dict[str, tuple[str, str]] = {
    "openai": ("plugins.emulator:EmulatorServer", "openai.base_url"),
    "azure-openai": ("plugins.emulator:AzureEmulatorServer", "azure_openai.endpoint"),
    "gemini": ("plugins.emulator_gemini:GeminiEmulatorServer", "gemini.base_url"),
    "anthropic": ("plugins.emulator_anthropic:AnthropicEmulatorServer", "anthropic.base_url"),
}
"""Per provider: its emulator server (``module:class``) and the setting that points at it."""


def start_emulator(
    provider: str, faults: dict[str, Any] | None = None
) -> tuple[EmulatorServer, str]:
    """The provider's emulator (with ``faults``: emulator settings), started on a free loopback
    port, and the setting (``section.key``) that points the provider at it."""
    import importlib

    if provider not in EMULATORS:
        raise ValueError(
            f"no demo for provider {provider!r}; choose one of: {', '.join(EMULATORS)}"
        )
    target, url_setting = EMULATORS[provider]
    module, _, name = target.partition(":")
    server_class = getattr(importlib.import_module(module), name)
    return server_class(faults, host="127.0.0.1", port=0).start(), url_setting


def demo_settings(database: str | None) -> dict[str, Any]:
    """Overrides that make the demo self-contained and quick."""
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    url = database
    if url is None:
        path = DEMO_DIR / "demo.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    return {
        "database.url": url,
        "batch.workdir": str(DEMO_DIR / "files"),
        "batch.retry_base_seconds": 0.2,
        "batch.retry_max_seconds": 2,
        "batch.stale_plan_seconds": 5,
        "scheduler.idle_pause_seconds": 0.02,
        "scheduler.idle_timeout_seconds": 300,
    }


def totals(kernel: Kernel) -> dict[str, float]:
    """Tokens and cost over all requests."""
    row = AIProcessingRequest
    with kernel.db.transaction() as session:
        result = session.execute(
            select(
                func.coalesce(func.sum(row.prompt_tokens), 0),
                func.coalesce(func.sum(row.completion_tokens), 0),
                func.coalesce(func.sum(row.total_cost_usd), 0.0),
            )
        ).one()
    return {"input_tokens": result[0], "output_tokens": result[1], "cost_usd": float(result[2])}


def run_demo(
    *,
    companies: int,
    sessions: int,
    database: str | None,
    seed: int,
    provider: str = "openai",
    failures: float = 0.0,
) -> int:
    """Run the demo end to end against ``provider``'s emulator (``failures``: share of answers
    refused for good); returns the process exit code."""
    console = Console()
    started = time.perf_counter()
    faults = {"seed": seed, "rate_line_error": failures, "line_error_status": 400}
    emulator, url_setting = start_emulator(provider, faults if failures else None)
    section = url_setting.partition(".")[0]
    settings = load_settings({**demo_settings(database), "plugins.provider": provider})
    try:
        kernel = Kernel.create(settings)
    except BaseException:
        emulator.stop()
        raise
    try:
        settings.set(url_setting, emulator.base_url)
        if not settings.get(f"{section}.api_key"):
            settings.set(f"{section}.api_key", "demo-key-not-secret")
        own_model = settings.get(f"{section}.model")
        if own_model:
            settings.set("model.name", str(own_model))
        upgrade(kernel.db)
        with tempfile.TemporaryDirectory() as tmp:
            source = write_jsonl(Path(tmp) / "sessions.jsonl", companies, sessions, seed=seed)
            report = import_file(kernel, source)
        console.print(
            f"imported {report.sessions_created} sessions of {companies} companies "
            f"({report.requests_created} requests) into {kernel.db.url.render_as_string()}; "
            f"emulator at {emulator.base_url}"
        )
        total = sum(requests_by_status(kernel.db).values())
        queries_before = kernel.db.queries.total
        scheduler = Scheduler(kernel)
        with Progress(
            TextColumn("[bold]pipeline"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("run", total=total, detail="")

            def on_pass(passes: int, left: dict[str, int]) -> None:
                done = total - left["pending"] - left["in_flight"]
                progress.update(
                    task,
                    completed=done,
                    detail=f"pass {passes}: {left['pending']} pending, {left['in_flight']} in flight",
                )

            outcome = run_until_idle(scheduler, on_pass=on_pass)
        queries = kernel.db.queries.total - queries_before
        elapsed = time.perf_counter() - started
        print_summary(console, kernel, outcome.passes, queries, elapsed)
        print_next_steps(console, kernel.db.url)
        if not outcome.idle:
            console.print(f"[red]the pipeline did not finish: {outcome.reason}[/red]")
            return 1
        stuck = requests_by_status(kernel.db).get(RequestStatus.BATCHING_IN_PROGRESS.value, 0)
        return 0 if stuck == 0 else 1
    finally:
        emulator.stop()
        kernel.close()


def print_summary(
    console: Console, kernel: Kernel, passes: int, queries: int, elapsed: float
) -> None:
    """The final table: requests and batches by state, tokens, cost, queries, time."""
    table = Table(title="batchkernel demo summary", show_header=False)
    for status, count in sorted(requests_by_status(kernel.db).items()):
        table.add_row(f"requests {status}", f"{count:,}")
    for status, count in sorted(batches_by_status(kernel.db).items()):
        table.add_row(f"batches {status}", f"{count:,}")
    sums = totals(kernel)
    table.add_row("input tokens", f"{sums['input_tokens']:,}")
    table.add_row("output tokens", f"{sums['output_tokens']:,}")
    table.add_row("cost (USD, batch price)", f"{sums['cost_usd']:.4f}")
    table.add_row("database queries (pipeline)", f"{queries:,}")
    table.add_row("scheduler passes", str(passes))
    table.add_row("cache hit rate", _cache_line(kernel.collect_status().get("cache")))
    table.add_row("wall time", f"{elapsed:.1f} s")
    console.print(table)


def print_next_steps(console: Console, url: Any) -> None:
    """What to try next on the demo's database, with its URL filled in."""
    shown = url.render_as_string(hide_password=True)
    option = f"--database '{shown}'"
    lines = [
        "[bold]next[/bold], on the demo's database:",
        f"  batchkernel status {option}  # requests and batches by state",
        f"  batchkernel costs {option}   # spend by company, model and day",
        f"  batchkernel doctor {option}  # what a real run needs",
        "  the results are on chat_sessions (sentiment, category, summary, language, escalated,",
        "  forwarded_hr, questions); each request's tokens, cost and error on ai_processing_requests:",
    ]
    if url.get_backend_name() == "sqlite" and url.database:
        lines.append(
            f'  sqlite3 {url.database} "SELECT external_id, sentiment, category, summary '
            'FROM chat_sessions LIMIT 5"'
        )
    else:
        lines.append(
            f"  psql '{shown}' -c \"SELECT external_id, sentiment, category, summary "
            'FROM chat_sessions LIMIT 5"'
        )
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)


def _cache_line(cache: dict[str, Any] | None) -> str:
    """The company cache's measured hit rate, lookups and database reads, or why there is none."""
    if not cache:
        return "no cache plugin enabled"
    rate = cache.get("hit_rate")
    shown = f"{rate:.1%}" if isinstance(rate, int | float) else "n/a"
    return (
        f"{shown} ({_count(cache.get('hits'), 'hit')}, {_count(cache.get('misses'), 'miss')}, "
        f"{_count(cache.get('refreshes', 0), 'refresh')}; {cache.get('backend')})"
    )


def _count(value: Any, noun: str) -> str:
    """``1 miss``, ``2 misses``, ``3 hits``."""
    number = int(value or 0)
    if number == 1:
        return f"1 {noun}"
    return f"{number:,} {noun}{'es' if noun.endswith(('s', 'sh', 'ch')) else 's'}"
