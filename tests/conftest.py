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
    """``-n auto``: two workers per core (tests mostly wait on I/O), at most eight."""
    return min(8, 2 * (os.cpu_count() or 1))


KernelFactory = Callable[..., Kernel]


@pytest.fixture(scope="session", autouse=True)
def fork_server() -> Iterator[None]:
    """Stop this worker's fork server (tests.support.forkserver starts it on first use)."""
    yield
    forkserver.stop()


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
