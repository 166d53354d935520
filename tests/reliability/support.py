"""Helpers for reliability tests: data in a database, and ``python -m kernel`` in processes of its
own (forked from the fork server)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from plugins.chaos.harness import base_environment, prepare_database, settings_env
from tests.support.forkserver import run_cli

CRASHED = 137


def load(db_url: str, tmp_path: Path, *, sessions: int, companies: int, seed: int = 5) -> None:
    """Migrate the empty database and import synthetic sessions (one request each)."""
    prepare_database(db_url, tmp_path, sessions, companies, seed)


def kernel_env(
    tmp_path: Path, db_url: str, base_url: str, *, processor: str, **settings: Any
) -> dict[str, str]:
    """Environment of a scheduler subprocess: fast leases and retries, no shared cache."""
    values: dict[str, Any] = {
        "database.url": db_url,
        "openai.base_url": base_url,
        "openai.backoff_base_seconds": 0.01,
        "openai.backoff_max_seconds": 0.05,
        "plugins.processor": processor,
        "plugins.autoload": "false",
        "plugins.cache": "none",
        "batch.workdir": str(tmp_path / "files"),
        "batch.min_batch_size": 1,
        "batch.retry_base_seconds": 0,
        "scheduler.idle_pause_seconds": 0.05,
        "scheduler.idle_timeout_seconds": 240,
        "scheduler.lease_seconds": 1,
        "scheduler.heartbeat_seconds": 0.3,
    }
    values |= {key.replace("__", "."): value for key, value in settings.items()}
    return base_environment() | settings_env(values) | {"OPENAI_API_KEY": "sk-test"}


def kernel_run(
    *args: str, env: dict[str, str], timeout: float = 280
) -> subprocess.CompletedProcess[str]:
    """``python -m kernel ARGS`` to completion."""
    return run_cli(args, env=env, timeout=timeout)
