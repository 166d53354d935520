"""Crash points for fault-injection tests: ``BATCHKERNEL_CRASH_AT=name[:n]`` ends the process with
``os._exit(137)`` at the n-th passage through ``name``, like SIGKILL at that instant."""

from __future__ import annotations

import os
import threading

ENV = "BATCHKERNEL_CRASH_AT"
_counts: dict[str, int] = {}
_lock = threading.Lock()


def crashpoint(name: str) -> None:
    """Die here if the environment asks for it; otherwise do nothing (cheap when unset)."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    target, _, nth = wanted.partition(":")
    if target != name:
        return
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1
        hit = _counts[name]
    if hit >= int(nth or 1):
        os._exit(137)
