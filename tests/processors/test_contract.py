"""The contract both processors share: same data, same emulator behaviour, same final state."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kernel.api import KernelAPI
from kernel.scheduler import Scheduler
from plugins.common.until_idle import run_until_idle
from plugins.emulator import EmulatorConfig, EmulatorServer
from tests.processors.support import final_state, loaded_kernel

SCENARIOS: dict[str, dict[str, Any]] = {
    "clean": {},
    "validation-and-expiry": {"first_validation_failure": 1, "first_expire": 1},
    "line-errors": {"rate_line_error": 0.2, "line_error_status": 400},
    "server-errors": {"rate_line_error": 0.2, "line_error_status": 500},
    "garbage-and-missing": {"rate_garbage_lines": 0.1, "rate_missing_lines": 0.1},
}


def copy_database(db_url: str, kernel: KernelAPI) -> str:
    """An identical copy of the (closed) database at ``db_url``: same rows, same ids."""
    kernel.close()
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        target = f"{url.database}.copy.db"
        assert url.database is not None
        shutil.copyfile(url.database, target)
        return f"sqlite:///{target}"
    database = f"{url.database}_copy"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database}" TEMPLATE "{url.database}"'))
    admin.dispose()
    return url.set(database=database).render_as_string(hide_password=False)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_both_processors_reach_the_same_final_state(
    make_kernel: Any, tmp_path: Path, db_url: str, scenario: str
) -> None:
    settings = {
        "batch__max_requests_per_batch": 20,
        "batch__max_attempts": 2,
        "processing__enable_parallel_processing": False,
    }
    with EmulatorServer(EmulatorConfig()).start() as server:
        first = loaded_kernel(
            make_kernel, db_url, tmp_path, server, processor="original", companies=4, sessions=120
        )
    copy_url = copy_database(db_url, first)
    states = {}
    for processor, url in (("original", db_url), ("optimized", copy_url)):
        config = EmulatorConfig(seed=5, line_faults_by_request=True, **SCENARIOS[scenario])
        with EmulatorServer(config).start() as server:
            kernel = make_kernel(
                url, plugins__processor=processor, openai__base_url=server.base_url, **settings
            )
            kernel.settings.set("batch.min_batch_size", 1)
            outcome = run_until_idle(Scheduler(kernel, record=False), timeout=240)
            assert outcome.idle, outcome.reason
            states[processor] = final_state(kernel)
            kernel.close()
    assert states["original"] == states["optimized"]
    assert len(states["original"]) == 120
    statuses = Counter(v[0] for v in states["original"].values())
    assert set(statuses) <= {"PROCESSING_COMPLETE", "PROCESSING_FAILED"}
