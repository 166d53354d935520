"""A pipeline under test: a kernel on a real database, the real SDK, the emulator over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kernel.db.models import AIBatchRequest, AIProcessingRequest, ChatSession, Message
from kernel.manager import Kernel
from kernel.scheduler import IdleOutcome, Scheduler
from plugins.common.importing.importer import import_file
from plugins.common.synthetic import write_jsonl
from plugins.emulator import EmulatorConfig, EmulatorServer


@dataclass
class Pipeline:
    """Everything a lifecycle test touches."""

    kernel: Kernel
    server: EmulatorServer
    scheduler: Scheduler

    def run(self, timeout: float = 240) -> IdleOutcome:
        """Run until idle and fail the test with the reason if it does not get there."""
        outcome = self.scheduler.run_until_idle(timeout=timeout)
        assert outcome.idle, outcome.reason
        return outcome

    def requests(self) -> list[AIProcessingRequest]:
        """Every request row."""
        with self.kernel.db.transaction() as session:
            return list(session.scalars(select(AIProcessingRequest)))

    def batches(self) -> list[AIBatchRequest]:
        """Every local batch row."""
        with self.kernel.db.transaction() as session:
            return list(session.scalars(select(AIBatchRequest)))

    def sessions(self) -> dict[str, ChatSession]:
        """Every session by id."""
        with self.kernel.db.transaction() as session:
            return {s.id: s for s in session.scalars(select(ChatSession))}

    def transcripts(self) -> dict[str, list[tuple[str, str]]]:
        """Each session's messages in order."""
        out: dict[str, list[tuple[str, str]]] = {}
        with self.kernel.db.transaction() as session:
            rows = session.execute(
                select(Message.session_id, Message.role, Message.content).order_by(
                    Message.session_id, Message.position
                )
            )
            for session_id, role, content in rows:
                out.setdefault(session_id, []).append((role, content))
        return out

    def provider_batches(self) -> list[dict[str, Any]]:
        """Every batch the emulator ever created."""
        return self.server.ledger()["batches"]


@pytest.fixture(params=["original", "optimized"])
def processor(request: pytest.FixtureRequest) -> str:
    """Every lifecycle test runs with both processors: the contract they share."""
    return str(request.param)


@pytest.fixture
def make_pipeline(make_kernel: Any, tmp_path: Path, processor: str) -> Iterator[Any]:
    """Build a pipeline: ``make_pipeline(db_url, sessions=60, companies=3, config=..., **settings)``."""
    servers: list[EmulatorServer] = []

    def factory(
        db_url: str,
        *,
        sessions: int = 60,
        companies: int = 3,
        config: EmulatorConfig | None = None,
        **settings: Any,
    ) -> Pipeline:
        server = EmulatorServer(config or EmulatorConfig(seed=1)).start()
        servers.append(server)
        options = {
            "openai__base_url": server.base_url,
            "batch__max_requests_per_batch": 25,
            "batch__min_batch_size": 1,
            "openai__max_retries": 3,
            "plugins__processor": processor,
        } | settings
        kernel = make_kernel(db_url, **options)
        source = write_jsonl(tmp_path / "sessions.jsonl", companies, sessions, seed=3)
        report = import_file(kernel, source)
        assert report.requests_created == sessions
        return Pipeline(kernel, server, Scheduler(kernel))

    yield factory
    for server in servers:
        server.stop()
