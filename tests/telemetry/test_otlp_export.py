"""A full run against the emulator exports the expected spans and metrics over real OTLP/HTTP."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from kernel.scheduler import TASKS
from tests.telemetry.receiver import OTLPReceiver

SPAN_KIND_CLIENT = 3


def otlp_settings(endpoint: str) -> dict[str, Any]:
    """Pipeline settings that export to ``endpoint`` (metrics flushed by hand)."""
    return {
        "telemetry__exporter": "otlp",
        "telemetry__endpoint": endpoint,
        "telemetry__headers": {"x-batchkernel-test": "yes"},
        "telemetry__timeout_seconds": 2,
        "telemetry__export_interval_seconds": 3600,
        "telemetry__service_name": "bk-test",
    }


def by_name(spans: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """Spans called ``name``."""
    return [s for s in spans if s["name"] == name]


def test_full_run_exports_spans_and_metrics_matching_the_database(
    make_pipeline: Any, db_url: str, receiver: OTLPReceiver
) -> None:
    pipeline = make_pipeline(db_url, sessions=60, companies=3, **otlp_settings(receiver.url))
    outcome = pipeline.run()
    plugin = pipeline.kernel.pm.get_plugin("otel")
    plugin.force_flush()
    plugin.shutdown()
    spans = receiver.spans
    batches = pipeline.batches()
    requests = pipeline.requests()

    cycles = by_name(spans, "batchkernel.cycle")
    assert len(cycles) == outcome.passes
    cycle_ids = {c["span_id"] for c in cycles}
    tasks = [s for s in spans if s["name"].startswith("batchkernel.task.")]
    assert Counter(s["attributes"]["batchkernel.task"] for s in tasks) == dict.fromkeys(
        TASKS, outcome.passes
    )
    assert all(t["parent_id"] in cycle_ids for t in tasks)
    assert all(not c["parent_id"] for c in cycles)
    task_names = {t["span_id"]: t["name"] for t in tasks}

    submits = by_name(spans, "batch.submit gpt-4o-mini")
    assert len(submits) == len(batches)
    rows = {b.id: b for b in batches}
    for span in submits:
        attrs = span["attributes"]
        assert task_names[span["parent_id"]] == "batchkernel.task.create"
        assert span["kind"] == SPAN_KIND_CLIENT
        assert attrs["gen_ai.system"] == "openai"
        assert attrs["gen_ai.operation.name"] == "batch.submit"
        assert attrs["gen_ai.request.model"] == "gpt-4o-mini"
        row = rows[attrs["batchkernel.batch.id"]]
        assert attrs["batchkernel.company.id"] == row.company_id
        assert attrs["batchkernel.batch.request_count"] == row.request_count
        assert attrs["gen_ai.batch.id"] == row.provider_batch_id
    downloads = by_name(spans, "batch.download gpt-4o-mini")
    assert {d["attributes"]["batchkernel.batch.id"] for d in downloads} == set(rows)
    assert all(task_names[d["parent_id"]] == "batchkernel.task.apply" for d in downloads)
    polls = by_name(spans, "batch.retrieve gpt-4o-mini")
    assert polls and all(task_names[p["parent_id"]] == "batchkernel.task.poll" for p in polls)

    applies = by_name(spans, "batchkernel.apply_results")
    assert sum(a["attributes"]["gen_ai.usage.input_tokens"] for a in applies) == sum(
        r.prompt_tokens for r in requests
    )
    assert sum(a["attributes"]["gen_ai.usage.output_tokens"] for a in applies) == sum(
        r.completion_tokens for r in requests
    )
    assert sum(a["attributes"]["batchkernel.requests.completed"] for a in applies) == len(requests)
    assert all(s["resource"]["service.name"] == "bk-test" for s in spans)
    assert all(h.get("x-batchkernel-test") == "yes" for h in receiver.headers)

    by_state = Counter(r.status for r in requests)
    states = receiver.latest("batchkernel.requests")
    assert {dict(k)["batchkernel.request.state"]: v for k, v in states.items()} == by_state
    batch_states = receiver.latest("batchkernel.batches")
    assert {dict(k)["batchkernel.batch.state"]: v for k, v in batch_states.items()} == Counter(
        b.status for b in batches
    )
    tokens = {
        dict(k)["gen_ai.token.type"]: v for k, v in receiver.latest("batchkernel.tokens").items()
    }
    assert tokens == {
        "input": sum(r.prompt_tokens for r in requests),
        "output": sum(r.completion_tokens for r in requests),
    }
    (cost,) = receiver.latest("batchkernel.cost").values()
    assert cost == pytest.approx(sum(r.total_cost_usd for r in requests))
    durations = receiver.latest("batchkernel.task.duration")
    assert {dict(k)["task"]: v["count"] for k, v in durations.items()} == dict.fromkeys(
        TASKS, outcome.passes
    )
    (cycle_hist,) = receiver.latest("batchkernel.cycle.duration").values()
    assert cycle_hist["count"] == outcome.passes
    breakers = receiver.latest("batchkernel.provider.circuit.state")
    assert breakers and set(breakers.values()) == {0.0}
    units = {m["name"]: m["unit"] for m in receiver.metrics}
    assert units["batchkernel.task.duration"] == "s"
    assert units["batchkernel.tokens"] == "{token}"
