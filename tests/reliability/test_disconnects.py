"""F5 and F14: database connections cut under a running scheduler (PostgreSQL), and several
processes SIGKILLed at random on one SQLite file: the work still finishes, exactly once; a
connection cut while a scheduler registers does not stop it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from kernel.scheduler import Scheduler
from plugins.chaos.audit import audit
from plugins.chaos.harness import ChaosOptions, run_chaos
from plugins.common.until_idle import run_until_idle
from plugins.emulator import EmulatorConfig, EmulatorServer
from tests.conftest import KernelFactory
from tests.reliability.support import kernel_env, load
from tests.support.connection_cuts import cut_connections

APP = "bk-f5-victim"


def terminate_all(engine: sa.Engine) -> int:
    """``pg_terminate_backend`` every connection of the scheduler under test."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :app AND datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                ),
                {"app": APP},
            ).scalar_one()
        )


def started(engine: sa.Engine) -> bool:
    """Whether the scheduler under test has registered its instance."""
    with engine.connect() as conn:
        return bool(conn.execute(sa.text("SELECT count(*) FROM scheduler_instances")).scalar_one())


@pytest.mark.postgres
@pytest.mark.parametrize("processor", ["original", "optimized"])
def test_f5_scheduler_survives_its_connections_being_terminated(
    postgres_url: str, tmp_path: Path, processor: str
) -> None:
    load(postgres_url, tmp_path, sessions=120, companies=4)
    # Batches stay in finalizing until the scheduler has lost its connections three times, so
    # the cuts land while it works, however fast or slow the machine is.
    config = EmulatorConfig(
        seed=2, validating_seconds=0.2, in_progress_seconds=1.0, stuck_finalizing=True
    )
    with EmulatorServer(config).start() as server:
        env = kernel_env(
            tmp_path,
            postgres_url,
            server.base_url,
            processor=processor,
            batch__max_requests_per_batch=10,
            batch__stale_plan_seconds=2,
            processing__chunk_size=10,
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "kernel", "run", "--until-idle"],
            env=env | {"PGAPPNAME": APP},
            stderr=subprocess.PIPE,
            text=True,
        )
        engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
        terminated = 0
        deadline = time.monotonic() + 300  # a bound for a broken run, not a timing window
        try:
            # Cuts start once the scheduler runs (its instance row exists): cuts during the
            # start-up are tested on their own (its checks, its registration).
            while process.poll() is None and not started(engine) and time.monotonic() < deadline:
                time.sleep(0.05)
            while process.poll() is None and terminated < 3 and time.monotonic() < deadline:
                terminated += terminate_all(engine)
                time.sleep(0.2)
            server.configure(stuck_finalizing=False)
            for _ in range(3):  # and a few more cuts while the results are applied
                terminated += terminate_all(engine)
                time.sleep(0.2)
        finally:
            engine.dispose()
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err[-4000:]
        assert terminated >= 3
        report = audit(postgres_url, server.ledger(), ambiguous=False)
    assert report.ok, "\n".join(report.lines())
    assert report.requests == {"PROCESSING_COMPLETE": 120}


def test_f14_three_processes_on_one_sqlite_file_under_sigkill(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    result = run_chaos(
        ChaosOptions(
            database_url=url,
            workdir=tmp_path / "chaos",
            seed=14,
            instances=3,
            requests=240,
            companies=6,
            seconds=600,
            stall_seconds=120,
            ambiguous=False,
            kill_every=(1.0, 3.0),
        )
    )
    logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "chaos").glob("*.log"))
    assert "database is locked" not in logs
    assert result.kills >= 3
    assert result.ok, "\n".join(result.lines())


@pytest.mark.postgres
def test_a_scheduler_whose_registration_loses_its_connection_still_runs(
    make_kernel: KernelFactory, postgres_url: str
) -> None:
    kernel = make_kernel(postgres_url)
    cut = cut_connections(kernel.db.engine, 1, matching="INSERT INTO scheduler_instances")
    outcome = run_until_idle(Scheduler(kernel))
    assert outcome.idle, outcome.reason
    assert len(cut) == 1
    with kernel.db.engine.connect() as conn:
        stopped = conn.execute(sa.text("SELECT stopped_at IS NOT NULL FROM scheduler_instances"))
        assert stopped.all() == [(True,)], "registered by the first task, stopped at the end"
