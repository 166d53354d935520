"""``batchkernel serve``: health, auth, the snapshot as JSON and CSV, scoping, metrics, readiness."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Any

import pytest

from kernel.db.migrate import upgrade
from plugins.serve import start_server
from tests.serve.conftest import SCOPED, TOKEN, Served, get

API = "/api/batch-monitoring"
# Two challenges in two headers: browsers offer their login dialog only for a header of its own.
CHALLENGES = ['Bearer realm="batchkernel"', 'Basic realm="batchkernel", charset="UTF-8"']


def test_health_is_open_and_everything_else_needs_a_token(served: Served) -> None:
    assert get(served.url + "/healthz")[0] == 200
    assert get(served.url + "/readyz")[0] == 200
    for path in (API, "/metrics", "/", "/static/console.js", "/api/batches", "/api/whoami"):
        status, headers, _ = get(served.url + path)
        assert status == 401, path
        assert headers.get_all("www-authenticate") == CHALLENGES
        assert get(served.url + path, "wrong-token-0123456789abcdef")[0] == 401
        assert get(served.url + path, TOKEN)[0] == 200


def test_snapshot_json_matches_the_database(served: Served) -> None:
    status, headers, body = get(served.url + API, TOKEN)
    assert status == 200 and headers["content-type"].startswith("application/json")
    snapshot = json.loads(body)
    requests = served.pipeline.requests()
    by_state = Counter(r.status for r in requests)
    assert {k: v for k, v in snapshot["requests"]["by_state"].items() if v} == by_state
    assert snapshot["requests"]["total"] == len(requests)
    batches = Counter(b.status for b in served.pipeline.batches())
    assert {k: v for k, v in snapshot["batches"]["by_state"].items() if v} == batches
    assert snapshot["usage"]["cost_usd"] == pytest.approx(sum(r.total_cost_usd for r in requests))
    assert snapshot["usage"]["input_tokens"] == sum(r.prompt_tokens for r in requests)
    per_company = Counter(r.company_id for r in requests if r.status == "PENDING_BATCHING")
    assert {
        c["id"]: c["requests"]["PENDING_BATCHING"]
        for c in snapshot["companies"]
        if c["requests"]["PENDING_BATCHING"]
    } == per_company
    assert snapshot["oldest_pending"]["age_seconds"] >= 0
    assert snapshot["last_cycle"]["queries"] > 0 and snapshot["tasks"]["create"]["seconds"] > 0
    assert set(snapshot["breakers"]) >= {"create", "upload", "retrieve"}
    cache = snapshot["cache"]
    assert cache["backend"] == "disk" and cache["hits"] + cache["misses"] > 0
    assert "fallback" not in snapshot and "fallback" not in snapshot["plugin_sections"]
    assert {"breakers", "cache"} <= set(snapshot["plugin_sections"])
    finished = sum(b["completed"] + b["failed"] for b in snapshot["throughput"]["buckets"])
    assert finished == by_state["PROCESSING_COMPLETE"] + by_state["PROCESSING_FAILED"]


def test_csv_is_real_csv_and_company_scoping_works(served: Served) -> None:
    status, headers, body = get(served.url + API + "?format=csv", TOKEN)
    assert status == 200 and headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    requests = served.pipeline.requests()
    assert {r["company_id"] for r in rows} == {r.company_id for r in requests}
    assert sum(int(r["requests_processing_complete"]) for r in rows) == sum(
        1 for r in requests if r.status == "PROCESSING_COMPLETE"
    )
    status, _, body = get(served.url + API + f"?format=csv&company={served.company}", TOKEN)
    assert status == 200
    scoped_rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [r["company_id"] for r in scoped_rows] == [served.company]
    snapshot = json.loads(get(served.url + API + f"?company={served.company}", TOKEN)[2])
    assert [c["id"] for c in snapshot["companies"]] == [served.company]
    assert snapshot["requests"]["total"] == sum(
        1 for r in requests if r.company_id == served.company
    )


def test_scoped_token_sees_only_its_company(served: Served) -> None:
    status, _, body = get(served.url + API, SCOPED)
    assert status == 200
    snapshot = json.loads(body)
    assert [c["id"] for c in snapshot["companies"]] == [served.company]
    assert snapshot["scope"] == {"company": served.company, "global_sections": False}
    assert "breakers" not in snapshot and "scheduler" not in snapshot
    other = next(
        c for c in {r.company_id for r in served.pipeline.requests()} if c != served.company
    )
    assert get(served.url + API + f"?company={other}", SCOPED)[0] == 403
    metrics = get(served.url + "/metrics", SCOPED)[2].decode()
    assert f'company="{served.company}"' in metrics and f'company="{other}"' not in metrics


def test_bad_requests_are_refused_without_side_effects(served: Served) -> None:
    status, _, body = get(served.url + API + "?operation=create", TOKEN)
    assert status == 400
    answer = json.loads(body)
    assert answer["valid_parameters"] == ["company", "format", "minutes", "page", "page_size"]
    assert get(served.url + API + "?format=xml", TOKEN)[0] == 400
    assert get(served.url + API + "?format=csv&format=json", TOKEN)[0] == 400
    assert get(served.url + "/healthz?x=1")[0] == 400
    assert get(served.url + "/nowhere", TOKEN)[0] == 404
    assert get(served.url + "/static/..%2fapp.py", TOKEN)[0] == 404
    before = get(served.url + API, TOKEN)[2]
    status, headers, _ = get(served.url + API, TOKEN, method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"
    after = get(served.url + API, TOKEN)[2]
    strip = lambda raw: {k: v for k, v in json.loads(raw).items() if k != "generated_at"}  # noqa: E731
    assert strip(before)["requests"] == strip(after)["requests"]


def test_prometheus_metrics_match_the_snapshot(served: Served) -> None:
    status, headers, body = get(served.url + "/metrics", TOKEN)
    assert status == 200 and headers["content-type"].startswith("text/plain")
    text = body.decode()
    complete = sum(1 for r in served.pipeline.requests() if r.status == "PROCESSING_COMPLETE")
    samples = [
        line
        for line in text.splitlines()
        if line.startswith("batchkernel_requests{") and 'state="PROCESSING_COMPLETE"' in line
    ]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in samples) == complete
    assert "batchkernel_provider_circuit_state{" in text
    assert "batchkernel_task_duration_seconds{" in text


def test_readiness_fails_when_the_database_is_down(make_kernel: Any, tmp_path: Any) -> None:
    kernel = make_kernel(
        "postgresql+psycopg://nobody@127.0.0.1:9/none", migrate=False, serve__tokens=[TOKEN]
    )
    handle = start_server(kernel, "127.0.0.1", 0)
    try:
        assert get(handle.url + "/healthz")[0] == 200
        status, _, body = get(handle.url + "/readyz")
        assert status == 503 and json.loads(body)["status"] == "unavailable"
        assert "nobody" not in body.decode()
    finally:
        handle.stop()
    ok = make_kernel(f"sqlite:///{tmp_path}/ok.db", serve__tokens=[TOKEN])
    upgrade(ok.db)
    handle = start_server(ok, "127.0.0.1", 0)
    try:
        assert get(handle.url + "/readyz")[0] == 200
    finally:
        handle.stop()
