"""The optimized claim's page query on PostgreSQL whose statistics lag behind a burst of pending
rows (a table never analyzed, or analyzed while the queue was empty): its plan handles a number
of rows linear in the page, whatever join the planner picks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql

from plugins.common.importing.importer import import_file
from plugins.common.synthetic import write_jsonl
from plugins.optimized.planning import candidates_of, page_query

PENDING = 2_000


def rows_handled(node: dict[str, Any]) -> int:
    """Rows every node of an ``EXPLAIN (ANALYZE, FORMAT JSON)`` plan produced or threw away."""
    own = (node["Actual Rows"] + node.get("Rows Removed by Join Filter", 0)) * node["Actual Loops"]
    return own + sum(rows_handled(child) for child in node.get("Plans", ()))


@pytest.mark.postgres
def test_the_page_query_stays_linear_on_stale_statistics(
    make_kernel: Any, postgres_url: str, tmp_path: Path
) -> None:
    kernel = make_kernel(postgres_url, plugins__processor="optimized")
    with kernel.db.engine.begin() as conn:
        # The statistics are taken while the queue is empty and no analyze refreshes them.
        for table in ("ai_processing_requests", "chat_sessions"):
            conn.exec_driver_sql(f"ALTER TABLE {table} SET (autovacuum_enabled = off)")
            conn.exec_driver_sql(f"ANALYZE {table}")
    source = write_jsonl(tmp_path / "sessions.jsonl", 1, PENDING, seed=11)
    assert import_file(kernel, source).requests_created == PENDING
    companies = [company.id for company in kernel.get_companies()]
    query = page_query(companies, datetime.now(UTC), PENDING, PENDING, lock=True)
    sql = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    with kernel.db.engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}").scalar_one()
        conn.rollback()
    top = plan[0]["Plan"]
    assert top["Actual Rows"] == PENDING
    # Joined through the status index instead of the primary key, every page row met every
    # pending row: about PENDING * PENDING / 2 rows (two million here).
    assert rows_handled(top) < 20 * PENDING, rows_handled(top)


def test_rows_no_longer_claimable_are_skipped_but_count_toward_a_full_page() -> None:
    """A row a concurrent claim took between the ranking and the lock comes back not claimable."""
    rows = [
        (rid, "acme", "gpt-4o-mini", "analysis", 3, 120, 130, 0, claimable)
        for rid, claimable in (("r-1", True), ("r-2", False), ("r-3", True))
    ]
    candidates, read = candidates_of(rows)
    assert [candidate.id for candidate in candidates] == ["r-1", "r-3"]
    assert read == 3
