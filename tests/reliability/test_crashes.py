"""F1, F1b, F1c, F2: a scheduler process dies at a crash point; a restarted one finishes the work.

Each case runs ``python -m kernel run --until-idle`` with ``BATCHKERNEL_CRASH_AT`` until it dies
with exit code 137 (``os._exit``, like SIGKILL at that instant), checks what the provider saw at
that moment, then runs a fresh instance to idle and audits the end state: every request terminal,
each result applied exactly once (usage equals one line's), every provider batch linked to its
local batch (one per plan, no duplicates), every provider file deleted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from plugins.chaos.audit import audit
from plugins.emulator import EmulatorConfig, EmulatorServer
from tests.reliability.support import CRASHED, kernel_env, kernel_run, load

SESSIONS = 30


@pytest.fixture
def emulator() -> Any:
    """A fault-free emulator on loopback."""
    with EmulatorServer(EmulatorConfig(seed=3)).start() as server:
        yield server


def crash_then_recover(
    tmp_path: Path,
    db_url: str,
    server: EmulatorServer,
    *,
    processor: str,
    crash_at: str,
    companies: int = 1,
    **settings: Any,
) -> dict[str, Any]:
    """Crash one instance at ``crash_at``, finish with another; the ledger at the crash."""
    load(db_url, tmp_path, sessions=SESSIONS, companies=companies)
    env = kernel_env(
        tmp_path,
        db_url,
        server.base_url,
        processor=processor,
        batch__stale_plan_seconds=3600,
        **settings,
    )
    crashed = kernel_run("run", "--until-idle", env=env | {"BATCHKERNEL_CRASH_AT": crash_at})
    assert crashed.returncode == CRASHED, crashed.stderr[-3000:]
    at_crash = server.ledger()
    at_crash["completed"] = completed(db_url)
    recovered = kernel_run("run", "--until-idle", env=env)
    assert recovered.returncode == 0, recovered.stderr[-3000:]
    report = audit(db_url, server.ledger(), ambiguous=False)
    assert report.ok, "\n".join(report.lines())
    assert report.requests == {"PROCESSING_COMPLETE": SESSIONS}
    assert report.max_sends_per_request == 1
    return at_crash


def completed(db_url: str) -> int:
    """Requests whose results are applied."""
    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM ai_processing_requests "
                        "WHERE status = 'PROCESSING_COMPLETE'"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("processor", ["original", "optimized"])
def test_f1_crash_after_create_the_batch_is_adopted(
    tmp_path: Path, db_url: str, emulator: EmulatorServer, processor: str
) -> None:
    at_crash = crash_then_recover(
        tmp_path, db_url, emulator, processor=processor, crash_at="after_batch_create"
    )
    assert len(at_crash["batches"]) == 1
    assert len(emulator.ledger()["batches"]) == 1


@pytest.mark.parametrize("processor", ["original", "optimized"])
def test_f1b_crash_after_upload_ends_with_one_batch_and_no_orphan_file(
    tmp_path: Path, db_url: str, emulator: EmulatorServer, processor: str
) -> None:
    at_crash = crash_then_recover(
        tmp_path, db_url, emulator, processor=processor, crash_at="after_file_upload"
    )
    assert at_crash["batches"] == [] and len(at_crash["files"]) == 1
    ledger = emulator.ledger()
    assert len(ledger["batches"]) == 1
    orphan = at_crash["files"][0]["id"]
    assert [f["deleted"] for f in ledger["files"] if f["id"] == orphan] == [True]


@pytest.mark.parametrize("processor", ["original", "optimized"])
def test_f1c_crash_after_plan_commit_replans_the_members(
    tmp_path: Path, db_url: str, emulator: EmulatorServer, processor: str
) -> None:
    at_crash = crash_then_recover(
        tmp_path, db_url, emulator, processor=processor, crash_at="after_plan_commit"
    )
    assert (at_crash["files"], at_crash["batches"]) == ([], [])
    assert len(emulator.ledger()["batches"]) == 1


@pytest.mark.parametrize(
    ("processor", "settings"),
    [("original", {}), ("optimized", {"processing__chunk_size": 5})],
)
def test_f2_crash_mid_apply_applies_the_rest_exactly_once(
    tmp_path: Path,
    db_url: str,
    emulator: EmulatorServer,
    processor: str,
    settings: dict[str, Any],
) -> None:
    at_crash = crash_then_recover(
        tmp_path, db_url, emulator, processor=processor, crash_at="apply_chunk:3", **settings
    )
    assert at_crash["completed"] == 3 * (5 if processor == "optimized" else 1)


@pytest.mark.parametrize("crash_at", ["after_results_download", "after_apply"])
def test_crash_around_apply_leaves_no_result_unapplied_and_no_file_behind(
    tmp_path: Path, db_url: str, emulator: EmulatorServer, crash_at: str
) -> None:
    at_crash = crash_then_recover(
        tmp_path, db_url, emulator, processor="optimized", crash_at=crash_at, companies=3
    )
    assert at_crash["completed"] == (SESSIONS if crash_at == "after_apply" else 0)
    assert len(emulator.ledger()["batches"]) == 3
