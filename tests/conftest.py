"""Shared fixtures: real databases (tests.support.databases) and kernels built on them."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kernel.manager import Kernel
from tests.support import forkserver
from tests.support.schema import SchemaCopies

pytest_plugins = ["tests.support.databases"]


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: three workers per two cores, at most eight. Tests wait on subprocesses, HTTP
    and the database part of the time: with one worker per core 17 % of the CPU stayed idle (the
    default run on two cores: 398 s); three and four workers both kept the CPU busy and took the
    same time within the machine's noise (342-391 s and 347-385 s), three with 8-14 % less
    CPU time (less switching), which also leaves more to a machine shared with other runs."""
    return min(8, max(1, 3 * (os.cpu_count() or 1) // 2))


KernelFactory = Callable[..., Kernel]
FAKE_DISTRIBUTION = Path(__file__).parent / "data" / "fake-plugin"
"""The checked-in third-party distribution ``batchkernel-fake`` (its ``fake-*`` plugins): installed
only for the tests that ask for it, through :func:`fake_distribution` or, in a subprocess,
``PYTHONPATH``."""


@pytest.fixture(scope="session", autouse=True)
def fork_server() -> Iterator[None]:
    """Stop this worker's fork server (tests.support.forkserver starts it on first use)."""
    yield
    forkserver.stop()


@pytest.fixture
def fake_distribution(monkeypatch: pytest.MonkeyPatch) -> Path:
    """``batchkernel-fake`` installed for this test: its folder on ``sys.path`` (removed after), so
    its entry points are found. Its ``fake-notes`` plugin owns a table: such a test migrates with
    :func:`kernel.db.migrate.upgrade`, never through ``make_kernel``'s schema copies (made once per
    worker, of the built-in tables)."""
    monkeypatch.syspath_prepend(str(FAKE_DISTRIBUTION))
    return FAKE_DISTRIBUTION


@pytest.fixture(scope="session")
def schema_copies(tmp_path_factory: pytest.TempPathFactory) -> SchemaCopies:
    """This worker's migrated schema, copied into the fresh databases tests migrate."""
    return SchemaCopies(tmp_path_factory.mktemp("schema"))


@pytest.fixture
def make_kernel(tmp_path: Path, schema_copies: SchemaCopies) -> Iterator[KernelFactory]:
    """Build kernels on a given database URL with test-friendly settings; migrated and closed."""
    made: list[Kernel] = []

    def factory(db_url: str, *, migrate: bool = True, extra: Any = (), **overrides: Any) -> Kernel:
        settings = {
            "database.url": db_url,
            "batch.workdir": str(tmp_path / "files"),
            "plugins.autoload": False,
            "openai.api_key": "test-key",
            "openai.backoff_base_seconds": 0.01,
            "openai.backoff_max_seconds": 0.05,
            "batch.retry_base_seconds": 0.0,
            "batch.stale_plan_seconds": 0.0,
            "scheduler.idle_pause_seconds": 0.0,
        }
        settings.update({key.replace("__", "."): value for key, value in overrides.items()})
        kernel = Kernel.create(overrides=settings, extra=extra)
        if migrate:
            schema_copies.migrate(kernel.db)
        made.append(kernel)
        return kernel

    yield factory
    for kernel in made:
        kernel.close()
