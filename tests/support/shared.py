"""Expensive module data built once per test run, whichever xdist worker asks first.

Tests are spread one by one over the workers (``--dist worksteal``), so a module fixture would be
built on every worker that runs one of its tests. ``built_once`` builds it under a file lock in
the directory the workers of one run share, stores it as JSON, and hands every later caller the
stored copy.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary directory every worker of this run shares (the run's own without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Any]
) -> Any:
    """``build(directory)``'s JSON result, built by the first caller of this run; the others wait
    for it and read it. A build that raised is tried again by the next caller."""
    root = shared_root(tmp_path_factory)
    stored = root / f"{name}.json"
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stored.exists():
            directory = root / name
            directory.mkdir(exist_ok=True)
            result = build(directory)
            stored.write_text(json.dumps(result))
    return json.loads(stored.read_text())
