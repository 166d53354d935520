"""Resident memory of this process from ``/proc/self/status`` (Linux): current, peak, and a
reset of the peak (``clear_refs``), so each stage gets its own peak. ``ru_maxrss`` is no use in
a child process: it keeps the parent's high-water mark across fork and exec."""

from __future__ import annotations

import resource
from pathlib import Path

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def _field(name: str) -> int | None:
    """A ``kB`` field of /proc/self/status in bytes, None where there is no /proc."""
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def current() -> int:
    """Resident set size now, in bytes."""
    found = _field("VmRSS")
    return found if found is not None else peak()


def peak() -> int:
    """Peak resident set size since start or the last ``reset_peak``, in bytes."""
    found = _field("VmHWM")
    if found is not None:
        return found
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def reset_peak() -> bool:
    """Start a new peak from the current size (Linux 4.0+); False where that is not possible."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True
