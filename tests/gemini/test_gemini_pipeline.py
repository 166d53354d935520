"""The whole pipeline on the gemini provider: the real google-genai SDK against the Gemini emulator
over loopback, on SQLite and PostgreSQL, with both processors, fault-free and with faults."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kernel.scheduler import Scheduler
from kernel.types import BatchStatus
from plugins.common.importing.importer import import_file
from plugins.common.schema.models import AIBatchRequest, AIProcessingRequest
from plugins.common.schema.statuses import RequestStatus
from plugins.common.synthetic import write_jsonl
from plugins.common.until_idle import run_until_idle
from plugins.emulator_gemini import GeminiEmulatorConfig, GeminiEmulatorServer

COMPLETE = RequestStatus.PROCESSING_COMPLETE.value
FAILED = RequestStatus.PROCESSING_FAILED.value


@pytest.fixture(params=["original", "optimized"])
def processor(request: pytest.FixtureRequest) -> str:
    """Both processors."""
    return str(request.param)


@pytest.fixture
def run_gemini(make_kernel: Any, tmp_path: Path, processor: str) -> Iterator[Any]:
    """``run_gemini(db_url, config=..., sessions=..., **settings)``: import, run until idle,
    answer (kernel, server)."""
    servers: list[GeminiEmulatorServer] = []

    def run(
        db_url: str,
        *,
        config: GeminiEmulatorConfig | None = None,
        sessions: int = 40,
        **settings: Any,
    ) -> tuple[Any, GeminiEmulatorServer]:
        server = GeminiEmulatorServer(config or GeminiEmulatorConfig(seed=1)).start()
        servers.append(server)
        options = {
            "plugins__provider": "gemini",
            "plugins__processor": processor,
            "gemini__base_url": server.base_url,
            "gemini__api_key": "test-key",
            "gemini__backoff_base_seconds": 0.01,
            "gemini__backoff_max_seconds": 0.5,
            "batch__max_requests_per_batch": 15,
            "batch__min_batch_size": 1,
        } | settings
        kernel = make_kernel(db_url, **options)
        source = write_jsonl(tmp_path / "sessions.jsonl", 3, sessions, seed=3)
        assert import_file(kernel, source).requests_created == sessions
        outcome = run_until_idle(Scheduler(kernel), timeout=120)
        assert outcome.idle, outcome.reason
        return kernel, server

    yield run
    for server in servers:
        server.stop()


def _rows(kernel: Any) -> tuple[list[AIProcessingRequest], list[AIBatchRequest]]:
    """Every request and local batch."""
    with kernel.db.transaction() as session:
        return (
            list(session.scalars(select(AIProcessingRequest))),
            list(session.scalars(select(AIBatchRequest))),
        )


def _settled(kernel: Any, sessions: int) -> list[AIBatchRequest]:
    """Every request complete, every batch applied; the batches."""
    requests, batches = _rows(kernel)
    assert Counter(r.status for r in requests) == {COMPLETE: sessions}
    assert {b.status for b in batches} <= {BatchStatus.APPLIED.value, BatchStatus.ABANDONED.value}
    assert all(r.prompt_tokens and r.completion_tokens for r in requests)
    return batches


@pytest.mark.parametrize("inline", [True, False])
def test_lifecycle(run_gemini: Any, db_url: str, inline: bool) -> None:
    kernel, server = run_gemini(db_url, gemini__inline_max_bytes=10_000_000 if inline else 0)
    batches = _settled(kernel, 40)
    ledger = server.ledger()
    assert len(ledger["batches"]) == len([b for b in batches if b.provider_batch_id])
    assert {b["source"] for b in ledger["batches"]} == {"inline" if inline else "file"}
    assert all(b["deleted"] for b in ledger["batches"])
    assert all(f["deleted"] for f in ledger["files"])


def test_faults(run_gemini: Any, db_url: str) -> None:
    config = GeminiEmulatorConfig(
        seed=5,
        first_429={"batches.create": 1, "batches.get": 2},
        first_500={"batches.get": 1, "files.download": 1},
        first_lost_create=1,
        first_expire=1,
        expire_done_fraction=0.5,
        rate_line_error=0.05,
        shuffle_output=True,
        retry_after_seconds=0.01,
    )
    kernel, server = run_gemini(db_url, config=config, gemini__inline_max_bytes=0)
    requests, batches = _rows(kernel)
    statuses = Counter(r.status for r in requests)
    assert set(statuses) <= {COMPLETE, FAILED} and statuses[COMPLETE] >= 37, statuses
    assert {b.status for b in batches} <= {BatchStatus.APPLIED.value, BatchStatus.ABANDONED.value}
    ledger = server.ledger()
    keys = Counter(b["display_name"] for b in ledger["batches"])
    assert max(keys.values()) == 1, "a submission key was created twice"
    faults = Counter(f["fault"] for f in ledger["faults"])
    assert faults["lost_create"] == 1 and faults["expire"] == 1 and faults["429"] >= 1
