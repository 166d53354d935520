"""The dashboard in a real headless Chromium: loads cleanly, draws its charts, shows the snapshot;
a person logs in with the browser's own dialog (any user, the token as password) and pages
through the companies."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from plugins.serve import start_server
from tests.serve.conftest import TOKEN, Served, get
from tests.serve.tenants import seed_tenants
from tests.serve.test_scale import expected_order

CHROMIUM = os.environ.get("BATCHKERNEL_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium_or_fail() -> str:
    """Chromium's path; in CI a missing browser fails the test, elsewhere it skips."""
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return CHROMIUM
    message = f"Chromium not found at {CHROMIUM}: install Debian's chromium package (.ci/run does)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def digits(text: str) -> str:
    """A displayed number without thousands separators."""
    return text.replace(",", "").strip()


def test_dashboard_renders_the_snapshot(served: Served) -> None:
    executable = chromium_or_fail()
    sync_api = pytest.importorskip("playwright.sync_api")
    snapshot = json.loads(get(served.url + "/api/batch-monitoring", TOKEN)[2])
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=ARGS, headless=True)
        try:
            context = browser.new_context(
                extra_http_headers={"Authorization": f"Bearer {TOKEN}"},
                viewport={"width": 1400, "height": 1300},
            )
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(served.url + "/", wait_until="networkidle")
            page.wait_for_function("document.body.dataset.generatedAt !== undefined")
            shown = _numbers(page)
            charts = {
                name: page.locator(f"#{name} svg rect, #{name} svg polyline").count()
                for name in ("chart-queue", "chart-batches", "chart-throughput", "chart-cost")
            }
            breakers = page.locator("#breakers .badge").count()
            providers = page.locator("#providers tr td:first-child").all_inner_texts()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            first = page.evaluate("document.body.dataset.generatedAt")
            page.wait_for_function(  # refresh_seconds is 1; a generous deadline for slow machines
                "first => document.body.dataset.generatedAt !== first", arg=first, timeout=60_000
            )
            refreshed = page.evaluate("document.body.dataset.generatedAt")
        finally:
            browser.close()

    assert errors == []
    by_state = snapshot["requests"]["by_state"]
    assert shown["requests-total"] == str(snapshot["requests"]["total"])
    assert shown["requests-pending"] == str(by_state["PENDING_BATCHING"])
    assert shown["requests-complete"] == str(by_state["PROCESSING_COMPLETE"])
    assert shown["requests-failed"] == str(by_state["PROCESSING_FAILED"])
    assert shown["batches-total"] == str(snapshot["batches"]["total"])
    assert shown["cost"] == f"{snapshot['usage']['cost_usd']:.4f}"
    assert shown["cache-rate"] == f"{snapshot['cache']['hit_rate'] * 100:.1f}%"
    assert shown["fallback-events"] == "no data"
    assert all(count > 0 for count in charts.values()), charts
    assert breakers == len(snapshot["breakers"])
    assert providers == [row["provider"] for row in snapshot["providers"]] == ["openai"]
    assert refreshed != snapshot["generated_at"], "the page did not refresh itself"
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000


def _numbers(page: Any) -> dict[str, str]:
    """The tiles' texts by element id."""
    ids = [
        "requests-total",
        "requests-pending",
        "requests-complete",
        "requests-failed",
        "batches-total",
        "cost",
        "cache-rate",
        "fallback-events",
    ]
    return {i: digits(page.locator(f"#{i}").inner_text()) for i in ids}


def test_a_person_logs_in_with_the_token_as_password_and_pages_companies(
    make_kernel: Any, sqlite_url: str
) -> None:
    """No Authorization header: Chromium must answer the 401's own Basic challenge itself."""
    executable = chromium_or_fail()
    sync_api = pytest.importorskip("playwright.sync_api")
    kernel = make_kernel(sqlite_url, serve__tokens=[TOKEN], serve__top_companies=20)
    seed_tenants(kernel.db.engine, 45)
    order = expected_order(45)
    handle = start_server(kernel, "127.0.0.1", 0)
    errors: list[str] = []
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, args=ARGS, headless=True
            )
            try:
                context = browser.new_context(
                    http_credentials={"username": "anyone", "password": TOKEN},
                    viewport={"width": 1400, "height": 1300},
                )
                page = context.new_page()
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                answer = page.goto(handle.url + "/", wait_until="networkidle")
                assert answer is not None and answer.status == 200
                page.locator("body[data-page='1']").wait_for(state="attached")
                first = page.locator("#companies tr td:first-child").all_inner_texts()
                info = page.locator("#page-info").inner_text()
                page.click("#page-next")
                page.locator("body[data-page='2']").wait_for(state="attached")
                second = page.locator("#companies tr td:first-child").all_inner_texts()
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "dashboard-page-2.png"), full_page=True)
            finally:
                browser.close()
    finally:
        handle.stop()
    assert errors == []
    assert info.startswith("page 1 of 3 (45 companies")
    assert [cell.rsplit("(", 1)[-1].rstrip(")") for cell in first[:20]] == order[:20]
    assert first[20] == "25 other companies"
    assert [cell.rsplit("(", 1)[-1].rstrip(")") for cell in second[:20]] == order[20:40]
