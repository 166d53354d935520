"""The contract harness: a provider's emulator over loopback, a kernel on a real database with
that provider plugin and its real SDK, and synthetic sessions; parametrised over every provider."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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
from tests.providers.cases import CASES, LedgerBatch, ProviderCase


@dataclass
class Contract:
    """One provider's pipeline under a scenario."""

    case: ProviderCase
    kernel: Kernel
    server: Any
    scheduler: Scheduler

    def run(self, timeout: float = 120) -> IdleOutcome:
        """Run until idle; fail the test with the reason if it does not get there."""
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

    def provider_batches(self) -> list[LedgerBatch]:
        """Every batch the provider's emulator made."""
        return self.case.batches(self.server)

    def remaining(self) -> list[str]:
        """What of ours the provider still keeps."""
        return self.case.remaining(self.server)

    def injected(self, fault: str) -> int:
        """How many faults of a kind the emulator injected."""
        return self.case.injected(self.server, fault)


@pytest.fixture(params=CASES, ids=[case.name for case in CASES])
def case(request: pytest.FixtureRequest) -> ProviderCase:
    """Every provider plugin."""
    value = request.param
    assert isinstance(value, ProviderCase)
    return value


@pytest.fixture
def make_contract(make_kernel: Any, tmp_path: Path, case: ProviderCase) -> Iterator[Any]:
    """``make_contract(db_url, sessions=20, companies=2, faults={...}, **settings)``: the
    provider's emulator with ``faults`` and a kernel with its plugin, sessions imported."""
    servers: list[Any] = []

    def factory(
        db_url: str,
        *,
        sessions: int = 20,
        companies: int = 2,
        faults: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> Contract:
        server = case.emulator(faults or {})
        servers.append(server)
        options = {
            **case.kernel_settings(server),
            "batch__max_requests_per_batch": 10,
            "batch__min_batch_size": 1,
            **settings,
        }
        kernel = make_kernel(db_url, **options)
        source = write_jsonl(tmp_path / "sessions.jsonl", companies, sessions, seed=3)
        assert import_file(kernel, source).requests_created == sessions
        return Contract(case, kernel, server, Scheduler(kernel))

    yield factory
    for server in servers:
        server.stop()
