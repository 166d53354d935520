"""What every scenario of the contract suite asserts about a settled pipeline."""

from __future__ import annotations

from collections import Counter
from typing import Any

from kernel.types import BatchStatus
from plugins.common.lines import transcript
from plugins.common.schema.statuses import RequestStatus
from plugins.emulator.model import analyze

COMPLETE = RequestStatus.PROCESSING_COMPLETE.value
FAILED = RequestStatus.PROCESSING_FAILED.value
TERMINAL = {COMPLETE, FAILED}
SETTLED_BATCHES = {BatchStatus.APPLIED.value, BatchStatus.ABANDONED.value}


def assert_settled(contract: Any) -> Counter[str]:
    """Nothing in flight: every request terminal, every local batch applied or abandoned; every
    provider batch is one the pipeline knows (none stranded). Returns the request statuses."""
    requests = contract.requests()
    statuses = Counter(r.status for r in requests)
    assert set(statuses) <= TERMINAL, statuses
    batches = contract.batches()
    assert {b.status for b in batches} <= SETTLED_BATCHES, Counter(b.status for b in batches)
    known = {b.provider_batch_id for b in batches if b.provider_batch_id}
    made = {b.id for b in contract.provider_batches()}
    assert made <= known, f"provider batches the pipeline never recorded: {made - known}"
    return statuses


def assert_each_request_sent_once(contract: Any) -> None:
    """No request was ever in two provider batches (nothing duplicated by a retry or adoption)."""
    seen = Counter(rid for batch in contract.provider_batches() for rid in batch.request_ids)
    assert seen and set(seen.values()) == {1}, [rid for rid, n in seen.items() if n > 1]


def assert_answers_on_their_sessions(contract: Any) -> None:
    """Every completed request's answer is the one the emulator gives for its own session's
    transcript (results matched by id, whatever order they came back in), with its usage and
    the provider that answered recorded."""
    sessions = contract.sessions()
    transcripts = contract.transcripts()
    completed = [r for r in contract.requests() if r.status == COMPLETE]
    assert completed
    for request in completed:
        expected = analyze(transcript(transcripts[request.session_id]))
        session = sessions[request.session_id]
        assert session.summary == expected["summary"], request.session_id
        assert session.sentiment == expected["sentiment"], request.session_id
        assert session.analyzed_at is not None
        assert request.prompt_tokens > 0 and request.completion_tokens > 0
        assert request.provider == contract.case.name
