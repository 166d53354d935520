"""Probes: time and count the queries of a function nested inside a hook, so one hook call (the
create task's ``fetch_pending``) can be split into its claim part and the rest without editing
the processors. Wrappers are installed for one run in the benchmark's own child process."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any


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
def claim_probes(kernel: Any, tally: Tally) -> Iterator[None]:
    """Probe the claim inside ``fetch_pending`` of whichever processor is running.

    optimized: ``plugins.optimized.claim.claim_page`` (lock, plan, insert batches, claim; one
    transaction per page). original: ``OriginalProcessor._claim`` (one transaction per batch)
    minus the input file it writes at its end (``write_lines``), which belongs to building.
    """
    counter = kernel.db.queries
    with ExitStack() as stack:
        from plugins.optimized import claim as optimized_claim
        from plugins.original import processor as original_module

        stack.enter_context(probe(optimized_claim, "claim_page", tally, counter))
        stack.enter_context(probe(original_module.OriginalProcessor, "_claim", tally, counter))
        stack.enter_context(probe(original_module, "write_lines", tally, counter, sign=-1))
        yield
