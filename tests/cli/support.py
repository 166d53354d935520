"""Running ``batchkernel`` as a user would: a process of its own (forked from the fork server)
with a clean environment and its own working directory, so nothing of the developer's settings
or files leaks in."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from tests.support.forkserver import run_cli

SECRET = "sk-test-secret-value"


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment without ``BATCHKERNEL_*``/``OPENAI_*``, with wide output and a key."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BATCHKERNEL_", "OPENAI_"))
    }
    env |= {
        "COLUMNS": "200",
        "BATCHKERNEL_BATCH__WORKDIR": str(tmp_path / "files"),
        "BATCHKERNEL_PLUGINS__AUTOLOAD": "false",
        "OPENAI_API_KEY": SECRET,
    }
    return env | extra


def batchkernel(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m kernel ARGS`` in ``cwd``."""
    return run_cli(args, env=env, cwd=cwd, timeout=timeout)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
