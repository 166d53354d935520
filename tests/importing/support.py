"""Helpers for import tests: import lines, table counts, and the real command in a process of its
own."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select

from kernel.api import KernelAPI
from tests.support.forkserver import run_cli


def session_record(
    company: str, session_id: str, messages: int = 3, **extra: Any
) -> dict[str, Any]:
    """One valid import record."""
    return {
        "company": company,
        "session_id": session_id,
        "start_time": "2026-11-01T09:00:00Z",
        "messages": [
            {
                "role": "user" if i % 2 == 0 else "assistant",
                "content": f"message {i} of {session_id}",
            }
            for i in range(messages)
        ],
    } | extra


def session_line(company: str, session_id: str, messages: int = 3, **extra: Any) -> bytes:
    """One valid import line."""
    return orjson.dumps(session_record(company, session_id, messages, **extra)) + b"\n"


def write_lines(path: Path, lines: Sequence[bytes | dict[str, Any]]) -> Path:
    """Write an import file from raw lines or records."""
    path.write_bytes(
        b"".join(line if isinstance(line, bytes) else orjson.dumps(line) + b"\n" for line in lines)
    )
    return path


def count(kernel: KernelAPI, model: Any, *where: Any) -> int:
    """Rows in a table (matching ``where``)."""
    with kernel.db.transaction() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def cli_env(tmp_path: Path, db_url: str, **extra: str) -> dict[str, str]:
    """Environment for ``python -m kernel`` on ``db_url``: no inherited settings, no plugins."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHKERNEL_")}
    env |= {
        "BATCHKERNEL_DATABASE__URL": db_url,
        "BATCHKERNEL_BATCH__WORKDIR": str(tmp_path / "files"),
        "BATCHKERNEL_PLUGINS__AUTOLOAD": "false",
        "BATCHKERNEL_PLUGINS__CACHE": "none",
        "OPENAI_API_KEY": "sk-test",
    }
    return env | extra


def batchkernel(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``python -m kernel`` like a user would."""
    return run_cli(args, env=env, timeout=240)
