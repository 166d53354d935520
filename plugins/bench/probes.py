"""Probes: time and count the queries of a function nested inside a hook, so one hook call (the
create task's ``fetch_pending``) can be split into its claim part and the rest. The processors
name the functions (``benchmark_probes`` hook); wrappers are installed for one run in the
benchmark's own child process."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from kernel.api import KernelAPI


@dataclass(slots=True)
class Tally:
    """Seconds and queries spent inside the probed functions, and how often they ran."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    queries: int = 0
    calls: int = 0


@contextmanager
def probe(owner: Any, name: str, tally: Tally, counter: Any, sign: int = 1) -> Iterator[None]:
    """Replace ``owner.name`` with a wrapper adding (``sign`` = -1: subtracting) its cost."""
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start, cpu, queries = time.perf_counter(), time.process_time(), counter.total
        try:
            return original(*args, **kwargs)
        finally:
            tally.seconds += sign * (time.perf_counter() - start)
            tally.cpu_seconds += sign * (time.process_time() - cpu)
            tally.queries += sign * (counter.total - queries)
            tally.calls += max(sign, 0)

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


@contextmanager
def claim_probes(kernel: KernelAPI, tally: Tally) -> Iterator[None]:
    """Probe the claim inside ``fetch_pending`` of whichever processor is running: each
    processor names its claim functions through the ``benchmark_probes`` hook."""
    counter = kernel.db.queries
    with ExitStack() as stack:
        for answer in kernel.pm.hook.benchmark_probes(kernel=kernel, stage="claim"):
            for item in answer or []:
                stack.enter_context(probe(item.owner, item.attribute, tally, counter, item.sign))
        yield
