"""Monitoring stays small with many tenants: bounded rows and series, pages, one build for many
concurrent requests, and query parameters checked before they reach the database."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine

from plugins.serve import start_server
from tests.serve.conftest import TOKEN, get
from tests.serve.tenants import company_id, cost_of, pending_of, seed_tenants

API = "/api/batch-monitoring"
FIRST = 600
MORE = 1800
TOP = 20


@dataclass
class Tenants:
    """A server over a database of many synthetic tenants."""

    url: str
    handle: Any
    engine: Any
    count: int

    def grow(self, more: int) -> None:
        """Add ``more`` tenants after the existing ones."""
        seed_tenants(self.engine, more, start=self.count)
        self.count += more


@pytest.fixture
def tenants(make_kernel: Any, db_url: str) -> Iterator[Tenants]:
    """``FIRST`` tenants served with ``serve.top_companies = TOP`` and no snapshot cache."""
    kernel = make_kernel(
        db_url, serve__tokens=[TOKEN], serve__top_companies=TOP, serve__cache_seconds=0
    )
    engine = create_engine(kernel.db.url)
    seed_tenants(engine, FIRST)
    handle = start_server(kernel, "127.0.0.1", 0)
    yield Tenants(handle.url, handle, engine, FIRST)
    handle.stop()
    engine.dispose()


def expected_order(count: int) -> list[str]:
    """Company ids by backlog, then cost (both descending), then id: the documented order."""
    return [
        company_id(i)
        for i in sorted(range(count), key=lambda i: (-pending_of(i), -cost_of(i), company_id(i)))
    ]


def snapshot(url: str, query: str = "") -> dict[str, Any]:
    """The JSON snapshot, asserting a 200."""
    status, _, body = get(url + API + query, TOKEN)
    assert status == 200, body
    return json.loads(body)


def metric_companies(text: str) -> set[str]:
    """Every ``company`` label value in an exposition text."""
    found = set()
    for line in text.splitlines():
        if 'company="' in line and not line.startswith("#"):
            found.add(line.split('company="', 1)[1].split('"', 1)[0])
    return found


def test_metrics_and_snapshot_do_not_grow_with_the_number_of_tenants(tenants: Tenants) -> None:
    sizes = []
    for _ in range(2):
        metrics = get(tenants.url + "/metrics", TOKEN)[2]
        api = get(tenants.url + API, TOKEN)[2]
        csv_body = get(tenants.url + API + "?format=csv", TOKEN)[2]
        sizes.append((len(metrics), len(api), len(csv_body)))
        text = metrics.decode()
        assert len(metric_companies(text)) == TOP + 1
        assert "__other__" in metric_companies(text)
        assert f"batchkernel_companies {float(tenants.count)}" in text
        pending = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("batchkernel_requests{") and 'state="PENDING_BATCHING"' in line
        )
        assert pending == sum(pending_of(i) for i in range(tenants.count))
        rows = list(csv.DictReader(io.StringIO(csv_body.decode())))
        assert len(rows) == TOP + 1 and rows[-1]["company_id"] == "__other__"
        tenants.grow(MORE)
    (m1, a1, c1), (m2, a2, c2) = sizes
    assert tenants.count == FIRST + 2 * MORE
    # Four times the tenants: the same number of rows and series; only digits may change.
    assert abs(m2 - m1) < 0.02 * m1 and abs(a2 - a1) < 0.02 * a1 and abs(c2 - c1) < 0.05 * c1


def test_companies_are_ranked_paged_and_summed_in_other(tenants: Tenants) -> None:
    first = snapshot(tenants.url)
    order = expected_order(tenants.count)
    assert [row["id"] for row in first["companies"]] == order[:TOP]
    assert first["company_count"] == tenants.count
    assert first["companies_page"] == first["companies_page"] | {
        "page": 1,
        "page_size": TOP,
        "pages": -(-tenants.count // TOP),
        "total": tenants.count,
    }
    other = first["other"]
    assert other["companies"] == tenants.count - TOP
    for state, total in first["requests"]["by_state"].items():
        assert total == other["requests"][state] + sum(
            row["requests"][state] for row in first["companies"]
        )
    assert first["usage"]["cost_usd"] == pytest.approx(
        other["cost_usd"] + sum(row["cost_usd"] for row in first["companies"])
    )
    row = first["companies"][0]
    index = int(row["id"].rsplit("-", 1)[1])
    assert row["requests"]["PENDING_BATCHING"] == pending_of(index)
    assert row["batches"]["APPLIED"] == 1 and row["oldest_pending_age_seconds"] >= 0

    second = snapshot(tenants.url, "?page=2&page_size=50")
    assert [row["id"] for row in second["companies"]] == order[50:100]
    last_page = -(-tenants.count // 50)
    last = snapshot(tenants.url, f"?page={last_page}&page_size=50")
    assert [row["id"] for row in last["companies"]] == order[(last_page - 1) * 50 :]
    assert snapshot(tenants.url, f"?page={last_page + 1}&page_size=50")["companies"] == []

    one = company_id(123)
    detail = snapshot(tenants.url, f"?company={one}")
    assert [row["id"] for row in detail["companies"]] == [one]
    assert detail["requests"]["by_state"]["PENDING_BATCHING"] == pending_of(123)
    assert detail["other"] is None
    metrics = get(tenants.url + f"/metrics?company={one}", TOKEN)[2].decode()
    assert metric_companies(metrics) == {one}


def test_concurrent_requests_share_one_snapshot_build(make_kernel: Any, sqlite_url: str) -> None:
    kernel = make_kernel(sqlite_url, serve__tokens=[TOKEN], serve__cache_seconds=60)
    seed_tenants(kernel.db.engine, 200)
    handle = start_server(kernel, "127.0.0.1", 0)
    answers: list[bytes] = []
    try:
        barrier = threading.Barrier(10)

        def fetch() -> None:
            barrier.wait()
            status, _, body = get(handle.url + API, TOKEN)
            assert status == 200
            answers.append(body)

        threads = [threading.Thread(target=fetch) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert len(answers) == 10 and len(set(answers)) == 1
        assert handle.app.snapshots.builds == 1
        assert get(handle.url + "/metrics", TOKEN)[0] == 200
        assert handle.app.snapshots.builds == 1  # the same snapshot as the API's first page
        assert get(handle.url + API + "?page=2", TOKEN)[0] == 200
        assert handle.app.snapshots.builds == 2
    finally:
        handle.stop()


@pytest.mark.parametrize(
    "query",
    [
        "company=%00",
        "company=acme%00",
        "company=%0A",
        "company=" + "x" * 65,
        "page=0",
        "page=abc",
        "page_size=100000",
        "page_size=-1",
    ],
)
def test_bad_query_parameters_are_a_400_on_every_database(tenants: Tenants, query: str) -> None:
    for path in (API, "/metrics"):
        if path == "/metrics" and not query.startswith("company"):
            continue
        status, headers, body = get(tenants.url + f"{path}?{query}", TOKEN)
        assert status == 400, (path, query, body)
        assert headers["content-type"].startswith("application/json")
        assert "error" in json.loads(body)
    assert get(tenants.url + "/readyz")[0] == 200
