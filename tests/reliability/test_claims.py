"""F3: two schedulers claiming at once never claim the same request, and a claim never takes
more than its page (PostgreSQL BUG #15715 guard)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from kernel.api import KernelAPI
from kernel.types import BatchPlan
from plugins.chaos.harness import base_environment
from tests.reliability.support import load

KernelFactory = Any


def members(db_url: str) -> dict[str, str]:
    """Claimed request id -> its batch id, from the database."""
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT id, batch_id FROM ai_processing_requests "
                    "WHERE status = 'BATCHING_IN_PROGRESS'"
                )
            ).all()
    finally:
        engine.dispose()
    return {request_id: batch_id for request_id, batch_id in rows}


def file_members(plans: list[BatchPlan]) -> Counter[str]:
    """How often each request appears in the plans' input files."""
    import orjson

    seen: Counter[str] = Counter()
    for plan in plans:
        for line in Path(plan.input_path).read_bytes().splitlines():
            seen[orjson.loads(line)["custom_id"]] += 1
    return seen


def kernels(make_kernel: KernelFactory, db_url: str, tmp_path: Path, processor: str) -> Any:
    """Two kernels (two instances) on one database with their own work directories."""
    common = {
        "plugins__processor": processor,
        "plugins__cache": "none",
        "batch__min_batch_size": 1,
        "batch__max_requests_per_batch": 10,
        "processing__chunk_size": 20,
    }
    load(db_url, tmp_path, sessions=60, companies=3)
    a = make_kernel(db_url, batch__workdir=str(tmp_path / "a"), **common)
    b = make_kernel(db_url, batch__workdir=str(tmp_path / "b"), **common)
    return a, b


def drain(*claimers: Any) -> list[BatchPlan]:
    """Claim with each kernel in turn until nothing is left."""
    plans: list[BatchPlan] = []
    while True:
        more = [p for kernel in claimers for p in kernel.fetch_pending(kernel.get_companies())]
        if not more:
            return plans
        plans += more


def interleave(paused: Any, other: Any, pause_in: Any) -> tuple[list[BatchPlan], list[BatchPlan]]:
    """Run ``paused.fetch_pending`` in a thread that stops inside ``pause_in``; while it waits,
    run ``other.fetch_pending`` to the end; then let the first one finish."""
    reached, release = threading.Event(), threading.Event()
    pause_in(reached, release)
    first: list[BatchPlan] = []
    errors: list[BaseException] = []

    def claim() -> None:
        try:
            first.extend(paused.fetch_pending(paused.get_companies()))
        except BaseException as exc:
            errors.append(exc)
            reached.set()

    thread = threading.Thread(target=claim)
    thread.start()
    assert reached.wait(30), "the first claimer never reached its pause"
    second = other.fetch_pending(other.get_companies())
    release.set()
    thread.join(30)
    assert not errors, errors
    return first, second


def test_original_claim_interleaved_between_read_and_update_is_disjoint(
    make_kernel: KernelFactory, db_url: str, tmp_path: Path
) -> None:
    a, b = kernels(make_kernel, db_url, tmp_path, "original")
    plugin = a.pm.get_plugin("original")
    original_claim = plugin._claim

    def pause_in(reached: threading.Event, release: threading.Event) -> None:
        def paused_claim(*args: Any, **kwargs: Any) -> Any:
            reached.set()
            release.wait(30)
            return original_claim(*args, **kwargs)

        plugin._claim = paused_claim

    first, second = interleave(a, b, pause_in)
    assert second and file_members(first).keys().isdisjoint(file_members(second))
    plans = first + second + drain(a, b)
    seen = file_members(plans)
    assert max(seen.values()) == 1
    claimed = members(db_url)
    assert len(claimed) == 60 and set(seen) == set(claimed)
    for plan in plans:
        assert {r for r, batch in claimed.items() if batch == plan.batch_id} == set(
            file_members([plan])
        )


@pytest.mark.postgres
def test_optimized_claim_skips_rows_locked_by_a_claim_in_progress(
    make_kernel: KernelFactory, postgres_url: str, tmp_path: Path
) -> None:
    a, b = kernels(make_kernel, postgres_url, tmp_path, "optimized")

    def pause_in(reached: threading.Event, release: threading.Event) -> None:
        @event.listens_for(a.db.engine, "after_cursor_execute")
        def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if "SKIP LOCKED" in statement and not reached.is_set():
                reached.set()
                release.wait(30)

    first, second = interleave(a, b, pause_in)
    assert first and second == []
    seen = file_members(first + second + drain(a, b))
    assert max(seen.values()) == 1 and len(seen) == 60
    claimed = members(postgres_url)
    assert set(claimed) == set(seen)


@pytest.mark.postgres
def test_concurrent_claim_processes_on_postgres_never_share_a_request(
    postgres_url: str, tmp_path: Path
) -> None:
    load(postgres_url, tmp_path, sessions=1500, companies=15)
    env = base_environment()
    workers = []
    for index, processor in enumerate(["optimized", "optimized", "original", "original"]):
        out = tmp_path / f"claims-{index}.json"
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.claimer", postgres_url, processor, str(out)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        workers.append((process, out))
    import json

    plans = []
    for process, out in workers:
        _, err = process.communicate(timeout=240)
        assert process.returncode == 0, err[-3000:]
        plans += json.loads(out.read_text())
    seen = Counter(rid for plan in plans for rid in plan["custom_ids"])
    assert len(seen) == 1500 and max(seen.values()) == 1
    claimed = members(postgres_url)
    assert claimed == {rid: plan["batch_id"] for plan in plans for rid in plan["custom_ids"]}
    per_worker = [len(json.loads(out.read_text())) for _, out in workers]
    assert sum(1 for count in per_worker if count) >= 2, per_worker


@pytest.mark.postgres
def test_optimized_claim_never_exceeds_its_page_with_nested_loops_forced(
    make_kernel: KernelFactory, postgres_url: str, tmp_path: Path
) -> None:
    a, b = kernels(make_kernel, postgres_url, tmp_path, "optimized")
    page = 20
    locked: list[int] = []
    for kernel in (a, b):

        @event.listens_for(kernel.db.engine, "connect")
        def nested_loops(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET enable_hashjoin = off")
                cursor.execute("SET enable_mergejoin = off")
                cursor.execute("SET enable_material = off")

        @event.listens_for(kernel.db.engine, "after_cursor_execute")
        def count(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
            if "SKIP LOCKED" in statement:
                locked.append(cursor.rowcount)

        kernel.db.engine.dispose()
    with a.db.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW enable_hashjoin").scalar() == "off"
    results: list[list[BatchPlan]] = [[], []]

    def claim(index: int, kernel: KernelAPI) -> None:
        results[index] = kernel.fetch_pending(kernel.get_companies())

    threads = [threading.Thread(target=claim, args=(i, k)) for i, k in enumerate((a, b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    rest = drain(a, b)
    assert locked and max(locked) <= page
    seen = file_members(results[0] + results[1] + rest)
    assert len(seen) == 60 and max(seen.values()) == 1
