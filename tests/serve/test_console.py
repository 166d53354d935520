"""The console in a real headless Chromium: navigation, filters, a retry and a pause by an
operator token, the same retry refused for a read token, usable at 1280 px and at phone width.
Each page's screenshot is saved after the test has checked that the page shows what it must:
under test-artifacts/console/, or under docs/console/ (the README shows them) when
``BATCHKERNEL_TEST_UPDATE_SCREENSHOTS=1``, so a test run leaves the repository as it was."""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from plugins.common.schema.statuses import RequestStatus
from tests.operations.support import audit_rows
from tests.serve.console_fixtures import OPERATOR, READER, Console, console
from tests.serve.test_dashboard import ARGS, chromium_or_fail

__all__ = ["console"]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = (
    ROOT / "docs" / "console"
    if os.environ.get("BATCHKERNEL_TEST_UPDATE_SCREENSHOTS") == "1"
    else ROOT / "test-artifacts" / "console"
)
FAILED = RequestStatus.PROCESSING_FAILED.value
PENDING = RequestStatus.PENDING_BATCHING.value
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@contextmanager
def browser_page(
    playwright: Any, token: str, viewport: dict[str, int], refused: bool = False
) -> Iterator[Any]:
    """A page logged in with ``token`` (the browser's own Basic dialog); page errors fail, and
    so do failed requests unless ``refused`` (a 403 the test provokes)."""
    browser = playwright.chromium.launch(
        executable_path=chromium_or_fail(), args=ARGS, headless=True
    )
    errors: list[str] = []
    try:
        context = browser.new_context(
            http_credentials={"username": "operator", "password": token}, viewport=viewport
        )
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        yield page
    finally:
        browser.close()
    expected = "the server responded with a status of 403"
    assert [e for e in errors if not (refused and expected in e)] == []


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """The browser tests run on SQLite (the API behind them is tested on both databases)."""
    return sqlite_url


def on_view(page: Any, view: str) -> None:
    """Wait until the console has rendered ``view``."""
    page.locator(f"body[data-view='{view}']").wait_for(state="attached")


def shot(page: Any, name: str, width: int) -> None:
    """Save the page's screenshot and check the file is a real picture of that width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">I", header[16:20])[0] == width
    assert path.stat().st_size > 10_000


def no_sideways_scroll(page: Any, width: int) -> None:
    """The page fits its viewport: nothing scrolls sideways."""
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


def test_operator_console(console: Console) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    pipeline = console.pipeline
    failed = [r for r in pipeline.requests() if r.status == FAILED]
    batches = pipeline.batches()
    with (
        sync_api.sync_playwright() as playwright,
        browser_page(playwright, OPERATOR, DESKTOP) as page,
    ):
        page.goto(console.url + "/")
        on_view(page, "overview")
        assert page.locator("#role").inner_text() == "operator"
        assert page.locator("#requests-failed").inner_text() == str(len(failed))
        for chart in ("chart-history", "chart-throughput", "chart-cost"):
            assert page.locator(f"#{chart} svg polyline").count() > 0, chart
        assert "{" not in page.locator("#fallback").inner_text()
        no_sideways_scroll(page, 1280)
        shot(page, "overview", 1280)

        page.click("#nav a[data-view='batches']")
        on_view(page, "batches")
        assert page.locator("#batch-list tr").count() == len(batches) + 1
        assert page.locator("#batch-list .progress").count() == len(batches)
        page.select_option("#batch-filters select[name=state]", "failed")
        page.click("#batch-filters button[type=submit]")
        page.locator("#batch-list td.nodata").wait_for()
        assert "state=failed" in page.url
        page.select_option("#batch-filters select[name=state]", "applied")
        page.click("#batch-filters button[type=submit]")
        page.locator("#batch-list .badge.s-applied").first.wait_for()
        assert page.locator("#batch-list tr").count() == len(batches) + 1
        shot(page, "batches", 1280)

        page.click("#batch-list a >> nth=0")
        on_view(page, "batch")
        assert page.locator("#batch-facts").inner_text().startswith("state")
        assert page.locator("#batch-members tr").count() > 1
        shot(page, "batch", 1280)

        page.click("#nav a[data-view='requests']")
        on_view(page, "requests")
        page.select_option("#request-filters select[name=state]", "failed")
        page.click("#request-filters button[type=submit]")
        # the unfiltered list shows failed badges too: wait for the filtered one's row count
        rows = page.locator("#request-list tr")
        other = page.locator("#request-list .badge:not(.s-processing_failed)")
        sync_api.expect(other).to_have_count(0, timeout=60_000)
        sync_api.expect(rows).to_have_count(min(len(failed), 25) + 1, timeout=60_000)
        shot(page, "requests", 1280)

        page.click("#request-list a >> nth=0")
        on_view(page, "request")
        request_id = page.locator("#request-id").inner_text()
        target = next(r for r in failed if r.id == request_id)
        assert page.locator("#request-error").inner_text() == target.error
        assert page.locator("#request-input .message").count() >= 1
        assert "400" in page.locator("#request-answer").inner_text()
        retry = page.locator("#request-retry")
        assert retry.is_visible() and retry.is_enabled()
        shot(page, "request", 1280)

        retry.click()
        page.locator("#confirm[open]").wait_for()
        assert request_id in page.locator("#confirm-text").inner_text()
        page.click("#confirm-yes")
        page.locator("#notice[data-ok='true']").wait_for()
        page.locator(f"body[data-request-state='{PENDING}']").wait_for(state="attached")
        assert {r.id: r for r in pipeline.requests()}[request_id].status == PENDING

        page.click("#nav a[data-view='companies']")
        on_view(page, "companies")
        page.click("#company-list button[data-company='company-0000']")
        page.click("#confirm-yes")
        page.locator("#company-list .badge.s-paused").wait_for()
        shot(page, "companies", 1280)

        page.click("#nav a[data-view='activity']")
        on_view(page, "activity")
        text = page.locator("#audit-list").inner_text()
        assert "requests.retry" in text and "companies.pause" in text and "token:ops" in text
        shot(page, "activity", 1280)

    trail = [(a.actor, a.action, a.result) for a in audit_rows(pipeline.kernel)]
    assert trail == [
        ("token:ops", "requests.retry", "ok"),
        ("token:ops", "companies.pause", "ok"),
    ]


def test_read_token_is_refused_and_the_phone_layout_fits(console: Console) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    pipeline = console.pipeline
    target = next(r for r in pipeline.requests() if r.status == FAILED)
    with (
        sync_api.sync_playwright() as playwright,
        browser_page(playwright, READER, PHONE, refused=True) as page,
    ):
        page.goto(console.url + "/")
        on_view(page, "overview")
        assert page.locator("#role").inner_text() == "read only"
        no_sideways_scroll(page, 390)
        shot(page, "overview-phone", 390)

        page.goto(f"{console.url}/#/requests/{target.id}")
        on_view(page, "request")
        retry = page.locator("#request-retry")
        assert retry.is_visible() and retry.is_disabled()
        assert "operator" in (retry.get_attribute("title") or "")
        answer = page.evaluate(
            """async (path) => {
                const r = await fetch(path, {method: "POST",
                  headers: {"X-Requested-With": "batchkernel"}});
                return [r.status, await r.text()];
            }""",
            f"/api/requests/{target.id}/retry",
        )
        assert answer[0] == 403 and "operator" in json.loads(answer[1])["error"]
        no_sideways_scroll(page, 390)
        shot(page, "request-phone", 390)
    assert {r.id: r for r in pipeline.requests()}[target.id].status == FAILED
    assert audit_rows(pipeline.kernel) == []
