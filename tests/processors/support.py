"""Helpers for processor tests: a kernel on real data with the emulator, and a full cycle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from kernel.db.models import AIProcessingRequest, ChatSession
from kernel.demo.synthetic import write_jsonl
from kernel.importer import import_file
from kernel.scheduler import Scheduler

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


def cycle_queries(kernel: Any) -> dict[str, int]:
    """Queries of one full cycle (create, poll, apply, retry), per task and in total."""
    scheduler = Scheduler(kernel, record=False)
    kernel.settings.set("scheduler.flush_small_batches", True)
    counts = {task: scheduler.run_task(task).queries for task in FULL_CYCLE}
    counts["total"] = sum(counts.values())
    return counts


def final_state(kernel: Any) -> dict[str, tuple[Any, ...]]:
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
