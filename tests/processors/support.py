"""Helpers for processor tests: a kernel on real data with the emulator, and a full cycle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from kernel.api import KernelAPI
from kernel.scheduler import Scheduler
from plugins.common.importing.importer import import_file
from plugins.common.schema.models import AIProcessingRequest, ChatSession
from plugins.common.synthetic import write_jsonl
from plugins.common.until_idle import run_until_idle

FULL_CYCLE = ("create", "poll", "apply", "retry")


def loaded_kernel(
    make_kernel: Any,
    db_url: str,
    tmp_path: Path,
    server: Any,
    *,
    processor: str,
    companies: int,
    sessions: int,
    messages: int | None = None,
    **settings: Any,
) -> Any:
    """A migrated kernel with synthetic sessions imported, pointed at the emulator."""
    kernel = make_kernel(
        db_url,
        plugins__processor=processor,
        openai__base_url=server.base_url,
        batch__min_batch_size=1,
        **settings,
    )
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = write_jsonl(
        tmp_path / f"s-{companies}-{sessions}.jsonl",
        companies,
        sessions,
        seed=11,
        messages=messages,
    )
    assert import_file(kernel, source).requests_created == sessions
    return kernel


def cycle_queries(kernel: KernelAPI) -> dict[str, int]:
    """Driver calls of one full cycle (create, poll, apply, retry), per task and in total."""
    return cycle_counts(kernel)["queries"]


def cycle_counts(kernel: KernelAPI) -> dict[str, dict[str, int]]:
    """Driver calls (``queries``) and statements the database ran (``statements``) of one full
    cycle (create, poll, apply, retry), per task and in total."""
    scheduler = Scheduler(kernel, record=False, flush=True)
    counts: dict[str, dict[str, int]] = {"queries": {}, "statements": {}}
    for task in FULL_CYCLE:
        with kernel.db.queries.measure() as measured:
            report = scheduler.run_task(task)
        assert report.error is None, report.error
        for key in counts:
            counts[key][task] = measured[key]
    for per_task in counts.values():
        per_task["total"] = sum(per_task.values())
    return counts


def idle_run_counts(kernel: KernelAPI) -> dict[str, Any]:
    """Statements and driver calls of ``run --until-idle`` (the scheduler as the command runs it,
    instance and lease bookkeeping included), in total and per pass."""
    kernel.settings.set("scheduler.lease_seconds", 7200)
    kernel.settings.set("scheduler.heartbeat_seconds", 3600)  # no beat inside the measurement
    counter = kernel.db.queries
    per_pass: list[int] = []
    mark = [counter.statements]

    def on_pass(_passes: int, _left: dict[str, int]) -> None:
        per_pass.append(counter.statements - mark[0])
        mark[0] = counter.statements

    with counter.measure() as measured:
        outcome = run_until_idle(Scheduler(kernel), on_pass=on_pass, timeout=600)
    assert outcome.idle, outcome.reason
    return {
        "statements": measured["statements"],
        "queries": measured["queries"],
        "passes": outcome.passes,
        "per_pass": per_pass,
    }


def final_state(kernel: KernelAPI) -> dict[str, tuple[Any, ...]]:
    """Every request's outcome and its session's fields, keyed by the session's import id."""
    r, s = AIProcessingRequest, ChatSession
    with kernel.db.transaction() as session:
        rows = session.execute(
            select(
                s.external_id,
                r.status,
                r.attempts,
                r.prompt_tokens,
                r.completion_tokens,
                r.total_tokens,
                r.total_cost_usd,
                r.error,
                s.sentiment,
                s.category,
                s.summary,
                s.language,
                s.escalated,
                s.forwarded_hr,
                s.questions,
            ).join(s, s.id == r.session_id)
        ).all()
    return {row[0]: (*row[1:6], round(row[6], 12), *row[7:]) for row in rows}


def other_database(db_url: str, tmp_path: Path, request: Any) -> str:
    """A second empty database like ``db_url`` (a second PostgreSQL database when needed)."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path}/other.db"
    url = make_url(db_url)
    name = f"{url.database}_other"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()

    def drop() -> None:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    request.addfinalizer(drop)
    return url.set(database=name).render_as_string(hide_password=False)
