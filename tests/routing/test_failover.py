"""Failover between providers through the real SDKs and emulators, both processors, SQLite and
PostgreSQL: a spent quota, an enqueued-token limit, the way back to the primary, and company
provider lists."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Generator
from itertools import pairwise
from typing import Any

import pytest
from rich.console import Console

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.types import BatchStatus
from plugins.common.monitoring.queries import MonitorReader
from plugins.common.monitoring.snapshot import build_snapshot
from plugins.common.operations.actions import Actor, set_providers
from plugins.common.operations.listing import list_companies
from plugins.common.schema.statuses import RequestStatus
from plugins.status.view import print_status
from tests.operations.support import audit_rows
from tests.routing.conftest import CLAUDE, Routed

COMPLETE = RequestStatus.PROCESSING_COMPLETE.value
SETTLED = {BatchStatus.APPLIED.value, BatchStatus.ABANDONED.value}


def assert_each_sent_once(routed: Routed) -> None:
    """Every request is in exactly one provider batch over both emulators' ledgers, and every
    provider batch is a local batch of the provider that holds it."""
    ids = {r.id for r in routed.requests()}
    sent = routed.sent()
    assert set(sent) == ids
    assert set(sent.values()) == {1}, [rid for rid, n in sent.items() if n > 1]
    local = {(b.provider, b.provider_batch_id) for b in routed.batches() if b.provider_batch_id}
    made = {(name, batch.id) for name, batches in routed.ledgers().items() for batch in batches}
    assert made == local


def assert_never_in_flight_twice(routed: Routed) -> None:
    """A request sent in several provider batches (at either provider) was sent again only
    after the batch before had been applied here: never at two providers at once."""
    local = {(b.provider, b.provider_batch_id): b for b in routed.batches()}
    sent_in: dict[str, list[Any]] = {}
    for name, batches in routed.ledgers().items():
        for batch in batches:
            for request_id in batch.request_ids:
                sent_in.setdefault(request_id, []).append(local[(name, batch.id)])
    for rows in sent_in.values():
        rows.sort(key=lambda row: row.created_at)
        for before, after in pairwise(rows):
            assert before.applied_at is not None and before.applied_at <= after.created_at


class HealsOpenAI:
    """Once Anthropic's first results are applied, OpenAI's quota is back and its cool-down
    over: the requests Anthropic answered with retryable errors go next to OpenAI."""

    def __init__(self) -> None:
        self.routed: Routed | None = None

    @hookimpl(wrapper=True)
    def apply_results(self, kernel: KernelAPI, results: Any) -> Generator[None, Any, Any]:
        """Heal OpenAI after an apply that requeued requests."""
        summary = yield
        routed = self.routed
        if routed is not None and summary.requeued + summary.failed and results:
            routed.openai.configure(insufficient_quota=False)
            routed.shift_openai_clock(float(kernel.settings.openai.quota_pause_max_seconds) + 1)
            self.routed = None
        return summary


def test_a_request_retried_after_a_failover_goes_back_to_the_primary_never_at_both(
    make_routed: Any, db_url: str
) -> None:
    healer = HealsOpenAI()
    routed = make_routed(
        db_url,
        sessions=30,
        companies=2,
        openai_faults={"insufficient_quota": True},
        anthropic_faults={"rate_line_error": 0.3, "line_error_type": "overloaded_error"},
        extra_plugins=[("heals-openai", healer)],
    )
    healer.routed = routed
    routed.run()
    requests = routed.requests()
    assert Counter(r.status for r in requests) == {COMPLETE: 30}
    at_anthropic = {rid for b in routed.ledgers()["anthropic"] for rid in b.request_ids}
    at_openai = {rid for b in routed.ledgers()["openai"] for rid in b.request_ids}
    assert at_anthropic | at_openai == {r.id for r in requests}
    assert at_anthropic & at_openai, "requests retried after the failover went to the primary"
    assert {r.id for r in requests if r.provider == "openai"} == at_openai
    assert {r.model for r in requests if r.provider == "openai"} == {"gpt-4o-mini"}
    assert_never_in_flight_twice(routed)


def test_a_spent_primary_quota_sends_every_request_through_anthropic(
    make_routed: Any, db_url: str
) -> None:
    routed = make_routed(
        db_url, sessions=30, companies=2, openai_faults={"insufficient_quota": True}
    )
    routed.run()
    requests = routed.requests()
    assert Counter(r.status for r in requests) == {COMPLETE: 30}
    assert {(r.provider, r.model) for r in requests} == {("anthropic", CLAUDE)}
    assert routed.ledgers()["openai"] == [], "the quota refused every create at OpenAI"
    assert_each_sent_once(routed)
    assert_never_in_flight_twice(routed)
    batches = routed.batches()
    assert {b.status for b in batches} <= SETTLED, "nothing stranded"
    assert {(b.provider, b.status) for b in batches if b.provider == "openai"} <= {
        ("openai", BatchStatus.ABANDONED.value)
    }
    assert {b.model for b in batches if b.provider == "anthropic"} == {CLAUDE}
    assert all(r.attempts <= 1 for r in requests), "a refused create spends no attempt"
    assert routed.metrics.failovers() == {("openai", "anthropic", "quota"): 2}, "one per company"
    line = routed.route_line()
    assert line.startswith("openai quota until ") and line.endswith(" -> anthropic"), line
    assert_shown_by_status(routed, line)


def assert_shown_by_status(routed: Routed, line: str) -> None:
    """``batchkernel status`` shows the route from the instance rows the scheduler wrote."""
    reader = MonitorReader.for_database(routed.kernel.db)
    try:
        snapshot = build_snapshot(reader, routed.kernel)
    finally:
        reader.dispose()
    assert snapshot["routing"] == {"openai, anthropic": line}
    console = Console(record=True, width=300)
    print_status(console, snapshot)
    shown = [
        row for row in console.export_text().splitlines() if "routing openai, anthropic" in row
    ]
    assert len(shown) == 1 and line in shown[0], shown


def test_an_open_create_circuit_at_the_primary_sends_new_batches_to_anthropic(
    make_routed: Any, db_url: str
) -> None:
    routed = make_routed(
        db_url,
        sessions=10,
        companies=1,
        openai_faults={"first_500": {"create": 1}},
        openai__max_retries=0,
        openai__circuit_failure_threshold=1,
        openai__circuit_reset_seconds=3600,
    )
    routed.run()
    requests = routed.requests()
    assert Counter(r.status for r in requests) == {COMPLETE: 10}
    assert {(r.provider, r.model) for r in requests} == {("anthropic", CLAUDE)}
    assert routed.ledgers()["openai"] == [], "the one create tried failed with a 500"
    assert_each_sent_once(routed)
    assert {b.status for b in routed.batches()} <= SETTLED
    assert routed.metrics.failovers() == {("openai", "anthropic", "circuit"): 1}
    assert routed.route_line().startswith("openai circuit until ")


def test_new_batches_go_back_to_the_primary_after_its_cool_down(
    make_routed: Any, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    routed = make_routed(
        db_url,
        sessions=30,
        companies=1,
        openai_faults={"insufficient_quota": True},
        batch__max_batches_per_cycle=1,
    )
    scheduler = routed.scheduler
    caplog.set_level(logging.WARNING, logger="batchkernel")
    first = scheduler.create_step()
    assert first["submitted"] == 0, "OpenAI refused the first batch: quota"
    assert scheduler.create_step()["submitted"] == 1
    assert [len(b.request_ids) for b in routed.ledgers()["anthropic"]] == [10]
    assert routed.route_line().endswith("-> anthropic")

    routed.openai.configure(insufficient_quota=False)
    routed.shift_openai_clock(float(routed.kernel.settings.openai.quota_pause_max_seconds) + 1)
    assert scheduler.create_step()["submitted"] == 1
    assert routed.route_line() == "openai"
    assert "takes new batches again" in caplog.text
    routed.run()

    requests = routed.requests()
    assert Counter(r.status for r in requests) == {COMPLETE: 30}
    by_provider = Counter(r.provider for r in requests)
    assert by_provider == {"openai": 20, "anthropic": 10}
    assert {r.model for r in requests if r.provider == "openai"} == {"gpt-4o-mini"}
    assert_each_sent_once(routed)
    assert routed.metrics.failovers() == {("openai", "anthropic", "quota"): 1}
    changes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("routing [")]
    assert len(changes) == 2, "one warning when failing over, one when back"


def test_an_enqueued_token_limit_sends_the_next_batches_to_the_next_provider(
    make_routed: Any, db_url: str
) -> None:
    routed = make_routed(
        db_url,
        sessions=30,
        companies=1,
        routing__max_enqueued_tokens={"openai": 1},
        batch__max_batches_per_cycle=1,
    )
    scheduler = routed.scheduler
    assert scheduler.create_step()["submitted"] == 1
    assert scheduler.create_step()["submitted"] == 1
    assert [b.provider for b in sorted(routed.batches(), key=lambda b: b.created_at)] == [
        "openai",
        "anthropic",
    ]
    assert routed.route_line().startswith("openai enqueued_tokens -> anthropic")
    routed.run()
    assert Counter(r.status for r in routed.requests()) == {COMPLETE: 30}
    assert_each_sent_once(routed)
    assert routed.metrics.failovers()[("openai", "anthropic", "enqueued_tokens")] >= 1


def test_a_company_with_its_own_list_goes_there_while_the_others_use_the_primary(
    make_routed: Any, db_url: str
) -> None:
    routed = make_routed(db_url, sessions=30, companies=3)
    kernel = routed.kernel
    chosen = kernel.get_companies()[1].id
    outcome = set_providers(kernel, Actor("cli:test"), chosen, ["anthropic"])
    assert outcome.ok, outcome.message
    assert [c.providers for c in kernel.get_companies() if c.id == chosen] == [("anthropic",)]
    with kernel.db.transaction() as session:
        rows = list_companies(session.connection(), 1, 10).rows
    assert {row["id"]: row["providers"] for row in rows} == {
        c.id: ["anthropic"] if c.id == chosen else [] for c in kernel.get_companies()
    }, "the console's companies list shows each company's own providers"
    routed.run()

    requests = routed.requests()
    assert Counter(r.status for r in requests) == {COMPLETE: 30}
    for request in requests:
        expected = (
            ("anthropic", CLAUDE) if request.company_id == chosen else ("openai", "gpt-4o-mini")
        )
        assert (request.provider, request.model) == expected
    ledgers = routed.ledgers()
    theirs = {r.id for r in requests if r.company_id == chosen}
    assert {rid for b in ledgers["anthropic"] for rid in b.request_ids} == theirs
    assert_each_sent_once(routed)
    assert routed.metrics.failovers() == {}, "a company's own primary is no failover"
    audited = [row for row in audit_rows(kernel) if row.action == "companies.set-provider"]
    assert [(row.target, row.result) for row in audited] == [(chosen, "ok")]


def test_a_company_list_names_configured_providers_only(make_routed: Any, sqlite_url: str) -> None:
    routed = make_routed(sqlite_url, sessions=4, companies=1, routing__providers=["openai"])
    kernel = routed.kernel
    company = kernel.get_companies()[0].id
    refused = set_providers(kernel, Actor("cli:test"), company, ["gemini"])
    assert not refused.ok and refused.status == 400
    assert "'gemini' is not configured" in refused.message and "openai" in refused.message
    assert set_providers(kernel, Actor("cli:test"), "nobody", ["openai"]).status == 404
    assert set_providers(kernel, Actor("cli:test"), company, []).ok
    assert kernel.get_companies()[0].providers == ()
    assert [row.result for row in audit_rows(kernel)] == ["refused", "refused", "ok"]
