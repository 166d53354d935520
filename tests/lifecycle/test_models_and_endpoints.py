"""Today's OpenAI API end to end through the real SDK against the emulator, on both databases
and both processors: a reasoning model (gpt-5-mini) and gpt-4o-mini, chat completions and the
Responses API, answers cut off at the output limit, and refusals."""

from __future__ import annotations

from collections import Counter
from typing import Any

import openai
import orjson
import pytest

from plugins.common.pricing import PriceBook
from plugins.common.schema.statuses import RequestStatus
from plugins.common.text import transcript
from plugins.common.truncation import TRUNCATED
from plugins.emulator import EmulatorConfig
from plugins.emulator.generation import REFUSAL
from plugins.emulator.model import analyze

COMPLETE = RequestStatus.PROCESSING_COMPLETE.value
FAILED = RequestStatus.PROCESSING_FAILED.value


def _sent_bodies(pipeline: Any) -> list[dict[str, Any]]:
    """The request bodies of every input file the pipeline uploaded (kept at the emulator)."""
    sdk = openai.OpenAI(base_url=pipeline.server.base_url, api_key="test-key", max_retries=0)
    bodies = []
    with sdk:
        for entry in pipeline.server.ledger()["files"]:
            if entry["purpose"] == "batch":
                text = sdk.files.content(entry["id"]).text
                bodies += [orjson.loads(line) for line in text.splitlines() if line.strip()]
    return bodies


@pytest.mark.parametrize(
    ("model", "endpoint"),
    [
        ("gpt-5-mini", "/v1/chat/completions"),
        ("gpt-4o-mini", "/v1/chat/completions"),
        ("gpt-5-mini", "/v1/responses"),
        ("gpt-4o-mini", "/v1/responses"),
    ],
)
def test_models_and_endpoints_complete_every_request(
    make_pipeline: Any, db_url: str, model: str, endpoint: str
) -> None:
    pipeline = make_pipeline(
        db_url,
        sessions=30,
        companies=2,
        model__name=model,
        openai__endpoint=endpoint,
        openai__file_retention="keep",
    )
    pipeline.run()
    requests = pipeline.requests()
    assert Counter(r.status for r in requests) == {COMPLETE: 30}
    sessions = pipeline.sessions()
    transcripts = pipeline.transcripts()
    for request in requests:
        expected = analyze(transcript(transcripts[request.session_id]))
        assert sessions[request.session_id].category == expected["category"]
        assert request.result_json["summary"] == expected["summary"]
        assert request.attempts == 0 and request.model == model
    reasoning = model.startswith("gpt-5")
    prices = PriceBook.from_settings(pipeline.kernel.settings)
    price = prices.for_model(model)
    assert price is not None
    for request in requests:
        assert request.prompt_tokens > 0
        if reasoning:
            assert request.completion_tokens > 192, "reasoning tokens count as output"
        prompt_cost, completion_cost = price.cost(
            request.prompt_tokens, request.completion_tokens, request.cached_tokens
        )
        assert request.total_cost_usd == pytest.approx(prompt_cost + completion_cost)
    lines = _sent_bodies(pipeline)
    assert len(lines) == 30 and {line["url"] for line in lines} == {endpoint}
    for line in lines:
        body = line["body"]
        assert "temperature" not in body if reasoning else body["temperature"] == 0.1
        if endpoint == "/v1/responses":
            assert body["max_output_tokens"] == 1000
            assert body["text"]["format"]["type"] == "json_schema"
            assert body["text"]["format"]["strict"] is True
            assert "messages" not in body and body["instructions"]
        else:
            limit = "max_completion_tokens" if reasoning else "max_tokens"
            other = "max_tokens" if reasoning else "max_completion_tokens"
            assert body[limit] == 1000 and other not in body
            assert body["response_format"]["json_schema"]["strict"] is True
    batches = pipeline.server.ledger()["batches"]
    assert batches and {b["endpoint"] for b in batches} == {endpoint}


def test_reasoning_effort_is_sent_to_reasoning_models_only(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(
        db_url,
        sessions=4,
        companies=1,
        model__name="o4-mini",
        openai__reasoning_effort="low",
        openai__file_retention="keep",
    )
    pipeline.run()
    assert Counter(r.status for r in pipeline.requests()) == {COMPLETE: 4}
    assert {line["body"]["reasoning_effort"] for line in _sent_bodies(pipeline)} == {"low"}


def test_a_cut_off_answer_is_asked_again_with_a_larger_limit(
    make_pipeline: Any, db_url: str
) -> None:
    pipeline = make_pipeline(
        db_url,
        sessions=6,
        companies=1,
        model__max_tokens=5,
        model__length_retry_factor=400,
        openai__file_retention="keep",
    )
    pipeline.run()
    requests = pipeline.requests()
    assert Counter(r.status for r in requests) == {COMPLETE: 6}
    assert all(r.attempts == 1 for r in requests)
    limits = Counter(line["body"]["max_tokens"] for line in _sent_bodies(pipeline))
    assert limits == {5: 6, 2000: 6}


def test_an_answer_cut_off_twice_fails_with_that_reason(make_pipeline: Any, db_url: str) -> None:
    pipeline = make_pipeline(
        db_url, sessions=6, companies=1, model__max_tokens=5, batch__max_attempts=5
    )
    pipeline.run()
    requests = pipeline.requests()
    assert Counter(r.status for r in requests) == {FAILED: 6}
    assert all(r.attempts == 2 for r in requests), "retried once, then failed: no loop"
    assert all((r.error or "").startswith(TRUNCATED) for r in requests)
    assert all("finish_reason length" in (r.error or "") for r in requests)
    assert len(pipeline.provider_batches()) == 2


@pytest.mark.parametrize("endpoint", ["/v1/chat/completions", "/v1/responses"])
def test_refusals_fail_with_the_refusal_text(
    make_pipeline: Any, db_url: str, endpoint: str
) -> None:
    pipeline = make_pipeline(
        db_url,
        sessions=5,
        companies=1,
        config=EmulatorConfig(rate_refusals=1.0),
        openai__endpoint=endpoint,
    )
    pipeline.run()
    requests = pipeline.requests()
    assert Counter(r.status for r in requests) == {FAILED: 5}
    assert all(r.error == f"the model refused: {REFUSAL}" for r in requests)
    assert all(r.attempts == 1 for r in requests)
