"""No database transaction is open while the provider is called (upload, create, poll,
download, cancel, lookup, cleanup, sweep): a provider call can take minutes, and a transaction
held across it would pin locks and the MVCC horizon."""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import update

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.scheduler import Scheduler
from plugins.common.schema.models import AIBatchRequest
from plugins.common.until_idle import run_until_idle
from plugins.emulator import EmulatorConfig, EmulatorServer
from tests.reliability.support import load

APP = "bk-hygiene"
PROVIDER_HOOKS = (
    "submit_batch",
    "poll_batch",
    "download_results",
    "cancel_batch",
    "find_batch",
    "cleanup_batch",
    "discard_submission",
    "sweep_provider_files",
)


class TransactionProbe:
    """Wraps every provider hook and records any database transaction open at that moment."""

    def __init__(self, postgres_url: str | None) -> None:
        self.kernel: Any = None
        self.calls: Counter[str] = Counter()
        self.violations: list[str] = []
        self.probe = (
            sa.create_engine(
                postgres_url,
                poolclass=sa.pool.NullPool,
                connect_args={"application_name": "bk-probe"},
            )
            if postgres_url
            else None
        )

    def check(self, hook: str) -> None:
        """Fail (later) if a pooled connection is checked out or a backend is in a transaction."""
        self.calls[hook] += 1
        checked_out = self.kernel.db.engine.pool.checkedout()
        if checked_out:
            self.violations.append(f"{hook}: {checked_out} connections checked out")
        if self.probe is None:
            return
        with self.probe.connect() as conn:
            open_transactions = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = :app "
                    "AND datname = current_database() AND xact_start IS NOT NULL"
                ),
                {"app": APP},
            ).scalar_one()
        if open_transactions:
            self.violations.append(f"{hook}: {open_transactions} backends in a transaction")

    def around(self, hook: str) -> Generator[None, Any, Any]:
        """The body of every wrapper."""
        self.check(hook)
        return (yield)

    @hookimpl(wrapper=True)
    def submit_batch(self, kernel: KernelAPI, plan: Any) -> Generator[None, Any, Any]:
        """Checked before the upload and the create."""
        return (yield from self.around("submit_batch"))

    @hookimpl(wrapper=True)
    def poll_batch(self, kernel: KernelAPI, batch: Any) -> Generator[None, Any, Any]:
        """Checked before a retrieve."""
        return (yield from self.around("poll_batch"))

    @hookimpl(wrapper=True)
    def download_results(
        self, kernel: KernelAPI, batch: Any, directory: Path
    ) -> Generator[None, Any, Any]:
        """Checked before the downloads."""
        return (yield from self.around("download_results"))

    @hookimpl(wrapper=True)
    def cancel_batch(self, kernel: KernelAPI, batch: Any) -> Generator[None, Any, Any]:
        """Checked before a cancel."""
        return (yield from self.around("cancel_batch"))

    @hookimpl(wrapper=True)
    def find_batch(self, kernel: KernelAPI, plan: Any) -> Generator[None, Any, Any]:
        """Checked before a lookup by submission key."""
        return (yield from self.around("find_batch"))

    @hookimpl(wrapper=True)
    def cleanup_batch(self, kernel: KernelAPI, batch: Any) -> Generator[None, Any, Any]:
        """Checked before the file deletions."""
        return (yield from self.around("cleanup_batch"))

    @hookimpl(wrapper=True)
    def discard_submission(self, kernel: KernelAPI, plan: Any) -> Generator[None, Any, Any]:
        """Checked before orphan uploads are deleted."""
        return (yield from self.around("discard_submission"))

    @hookimpl(wrapper=True)
    def sweep_provider_files(self, kernel: KernelAPI, settled: Any) -> Generator[None, Any, Any]:
        """Checked before the file listing and the deletions of the sweep."""
        return (yield from self.around("sweep_provider_files"))


@pytest.mark.parametrize("processor", ["original", "optimized"])
def test_no_transaction_is_open_during_any_provider_call(
    make_kernel: Any,
    db_url: str,
    tmp_path: Path,
    processor: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PGAPPNAME", APP)
    load(db_url, tmp_path, sessions=40, companies=4)
    probe = TransactionProbe(db_url if db_url.startswith("postgresql") else None)
    config = EmulatorConfig(seed=9, first_lost_create=1, in_progress_seconds=3600)
    with EmulatorServer(config).start() as server:
        kernel = make_kernel(
            db_url,
            extra=[("transaction-probe", probe)],
            plugins__processor=processor,
            plugins__cache="none",
            openai__base_url=server.base_url,
            batch__min_batch_size=1,
            batch__max_requests_per_batch=5,
        )
        probe.kernel = kernel
        scheduler = Scheduler(kernel, record=False)
        stale = kernel.fetch_pending(kernel.get_companies()[:2])
        assert stale
        scheduler.run_task("create")
        scheduler.run_task("poll")
        with kernel.db.transaction() as session:
            session.execute(
                update(AIBatchRequest)
                .where(AIBatchRequest.submitted_at.is_not(None))
                .values(submitted_at=datetime.now(UTC) - timedelta(hours=30))
            )
        scheduler.run_task("reconcile")
        server.configure(in_progress_seconds=0)
        outcome = run_until_idle(scheduler, timeout=240)
        assert outcome.idle, outcome.reason
        assert not probe.violations, probe.violations
        assert set(PROVIDER_HOOKS) <= set(probe.calls), probe.calls
        with kernel.db.transaction() as session:
            session.execute(sa.text("SELECT 1"))
            probe.check("control: inside a transaction")
    assert len(probe.violations) == (1 if probe.probe is None else 2), probe.violations
