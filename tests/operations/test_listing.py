"""Listings and details: filters, pages, a request's input, answer and result; samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from plugins.common.monitoring.samples import SampleWriter, series, write_sample
from plugins.common.operations import details, filters, listing
from plugins.common.operations.filters import FilterError, Filters
from plugins.common.schema.models import MetricsSample
from plugins.common.schema.statuses import RequestStatus
from tests.operations.support import FAILING

FAILED = RequestStatus.PROCESSING_FAILED.value
COMPLETE = RequestStatus.PROCESSING_COMPLETE.value


@pytest.fixture
def processor() -> str:
    """Listings read rows whichever processor wrote them."""
    return "optimized"


def test_filters_pages_and_details(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(db_url, sessions=30, companies=3, config=FAILING)
    pipeline.run()
    rows = pipeline.requests()
    with pipeline.kernel.db.read_transaction() as session:
        conn = session.connection()
        first = listing.list_requests(conn, Filters(), 1, 20)
        second = listing.list_requests(conn, Filters(), 2, 20)
        assert (len(first.rows), first.has_next, len(second.rows), second.has_next) == (
            20,
            True,
            10,
            False,
        )
        assert {r["id"] for r in first.rows + second.rows} == {r.id for r in rows}
        failed = listing.list_requests(conn, Filters(state=filters.request_state("failed")), 1, 50)
        assert {r["id"] for r in failed.rows} == {r.id for r in rows if r.status == FAILED}
        one = listing.list_requests(conn, Filters(company="company-0001"), 1, 50)
        assert {r["company_id"] for r in one.rows} == {"company-0001"}
        future = listing.list_requests(
            conn, Filters(since=datetime.now(UTC) + timedelta(hours=1)), 1, 50
        )
        assert future.rows == []
        batches = listing.list_batches(conn, Filters(state="APPLIED"), 1, 50)
        assert len(batches.rows) == len(pipeline.batches())
        assert all(b["progress"] == 1.0 for b in batches.rows)

        batch = details.batch_detail(conn, batches.rows[0]["id"])
        assert batch is not None and sum(batch["members_by_state"].values()) >= 1
        bad = next(r for r in rows if r.status == FAILED)
        shown = details.request_detail(conn, bad.id)
        assert shown is not None
        assert shown["error"] == bad.error and shown["result"] is None
        assert shown["answer"]["status_code"] == 400
        assert [m["content"] for m in shown["input"]["messages"]] == [
            content for _, content in pipeline.transcripts()[bad.session_id]
        ]
        good = next(r for r in rows if r.status == COMPLETE)
        fine = details.request_detail(conn, good.id)
        assert fine is not None and fine["result"]["sentiment"] in (
            "POSITIVE",
            "NEUTRAL",
            "NEGATIVE",
        )
        assert fine["answer"]["text"] and fine["answer"]["status_code"] == 200
        assert details.request_detail(conn, "nope") is None


def test_filter_values_are_checked_with_the_valid_choices() -> None:
    with pytest.raises(FilterError, match="valid: pending, in_flight, complete, failed"):
        filters.request_state("done")
    with pytest.raises(FilterError, match="valid: planned"):
        filters.batch_state("running")
    with pytest.raises(FilterError, match="30m, 2h, 7d"):
        filters.since("yesterday")
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert filters.since("2h", now) == now - timedelta(hours=2)
    assert filters.since("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)
    assert filters.request_state("PROCESSING_FAILED") == FAILED


def test_one_sample_a_minute_whoever_writes_it(make_kernel: Any, db_url: str) -> None:
    kernel = make_kernel(db_url)
    minute = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    first, second = SampleWriter(kernel.db.url), SampleWriter(kernel.db.url)
    try:
        assert first.maybe_write(minute + timedelta(seconds=5))
        assert not second.maybe_write(minute + timedelta(seconds=40))
        assert not first.maybe_write(minute + timedelta(seconds=50))
        assert second.maybe_write(minute + timedelta(minutes=1))
        assert not write_sample(kernel.db, minute)
    finally:
        first.close()
        second.close()
    with kernel.db.read_transaction() as session:
        conn = session.connection()
        assert conn.execute(select(func.count()).select_from(MetricsSample)).scalar_one() == 2
        points = series(conn, minutes=10, now=minute + timedelta(minutes=2))
    assert [p["minute"] for p in points] == ["2026-11-01T09:30:00Z", "2026-11-01T09:31:00Z"]
    assert points[0]["pending"] == 0 and points[0]["cost_usd"] == 0.0
