"""A kernel on an emulator: one helper for every pipeline test, whatever the provider.

A pipeline is a kernel on a real database whose provider plugin speaks, through its real SDK,
to an emulator on loopback, with synthetic sessions imported and a scheduler to run it. The
suites differ only in how they start their emulator and point the kernel at it (``launch``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest
from sqlalchemy import select

from kernel.manager import Kernel
from kernel.scheduler import Scheduler
from plugins.common.importing.importer import import_file
from plugins.common.schema.models import AIBatchRequest, AIProcessingRequest, ChatSession, Message
from plugins.common.synthetic import write_jsonl
from plugins.common.until_idle import IdleOutcome, run_until_idle

Launch = Callable[[Any], tuple[Any, dict[str, Any]]]
"""``launch(config)``: a started emulator for ``config`` (``None``: the suite's default) and
the kernel settings that point the provider at it."""


class KernelRun:
    """Running a test kernel's scheduler and reading its rows (needs ``kernel`` and
    ``scheduler``)."""

    kernel: Kernel
    scheduler: Scheduler
    RUN_TIMEOUT: ClassVar[float] = 120

    def run(self, timeout: float | None = None) -> IdleOutcome:
        """Run until idle and fail the test with the reason if it does not get there."""
        outcome = run_until_idle(self.scheduler, timeout=timeout or self.RUN_TIMEOUT)
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


@dataclass
class Pipeline(KernelRun):
    """Everything a pipeline test touches."""

    kernel: Kernel
    server: Any
    scheduler: Scheduler

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

    def provider_batches(self) -> Any:
        """Every batch the emulator ever created, as its ledger shows them."""
        return self.server.ledger()["batches"]


P = TypeVar("P", bound=Pipeline)


@contextmanager
def pipeline_factory(
    make_kernel: Any,
    tmp_path: Path,
    launch: Launch,
    *,
    kind: Callable[[Kernel, Any, Scheduler], P],
    sessions: int,
    companies: int,
) -> Iterator[Callable[..., P]]:
    """``factory(db_url, sessions=…, companies=…, config=…, **settings)`` builds a pipeline with
    ``kind`` (settings override the launch's); every emulator started is stopped at the end."""
    servers: list[Any] = []

    def factory(
        db_url: str,
        *,
        sessions: int = sessions,
        companies: int = companies,
        config: Any = None,
        **settings: Any,
    ) -> P:
        server, options = launch(config)
        servers.append(server)
        kernel = make_kernel(db_url, **(options | settings))
        source = write_jsonl(tmp_path / "sessions.jsonl", companies, sessions, seed=3)
        assert import_file(kernel, source).requests_created == sessions
        return kind(kernel, server, Scheduler(kernel))

    try:
        yield factory
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(params=["original", "optimized"])
def processor(request: pytest.FixtureRequest) -> str:
    """Both processors: the contract they share."""
    return str(request.param)
