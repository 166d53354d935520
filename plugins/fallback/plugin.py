"""Hook implementations of ``fallback``: a router in front of the processors and a rescuing wrapper.

The router (``tryfirst``) answers with the original processor, through a subset caller without
the optimized processor and without itself, when the tracker routes the operation there;
otherwise it answers ``None`` and the optimized processor runs. A routed answer (or error) comes
back wrapped in :class:`Routed`, so the wrapper tells it apart from the optimized path's answer by
the value itself: it unwraps a routed answer, and otherwise times the optimized path and, when it
raises, records a fallback event and answers with the original; if the original fails too, its
error propagates chained to the optimized one's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

from kernel import hookimpl
from kernel.api import KernelAPI
from plugins.fallback.tracker import OPTIMIZED, ORIGINAL, PerformanceTracker

OPERATIONS = (
    "fetch_pending",
    "record_submitted",
    "fetch_inflight",
    "record_batch_statuses",
    "fetch_finished",
    "apply_results",
    "retry_failed",
)


@dataclass(frozen=True, slots=True)
class Routed:
    """The original processor's answer (or its error) to an operation the router sent there."""

    answer: Any = None
    error: BaseException | None = None


class FallbackPlugin:
    """Plugin ``fallback``; registered only with the optimized processor (it requires it)."""

    batchkernel_requires = ("optimized",)

    def __init__(self) -> None:
        self.tracker = PerformanceTracker()
        self.events: dict[str, int] = dict.fromkeys(OPERATIONS, 0)
        self._lock = threading.Lock()

    def _original(self, kernel: KernelAPI, operation: str, kwargs: dict[str, Any]) -> Any:
        """Call the hook with only the plugins that are neither optimized nor this one."""
        caller = kernel.pm.subset_hook_caller(
            operation, remove_plugins=[kernel.pm.get_plugin("optimized"), self]
        )
        return caller(kernel=kernel, **kwargs)

    def _route(self, kernel: KernelAPI, operation: str, kwargs: dict[str, Any]) -> Routed | None:
        """Answer with the original when the tracker says so; else None (the optimized runs)."""
        if self.tracker.route(operation).path != ORIGINAL:
            return None
        start = time.perf_counter()
        try:
            result = self._original(kernel, operation, kwargs)
        except Exception as exc:
            self.tracker.record(operation, ORIGINAL, time.perf_counter() - start, False)
            return Routed(error=exc)
        self.tracker.record(operation, ORIGINAL, time.perf_counter() - start, True)
        kernel.metric("batchkernel.fallback.routed", 1, operation=operation)
        return Routed(answer=result)

    def _guard(
        self, kernel: KernelAPI, operation: str, kwargs: dict[str, Any]
    ) -> Generator[None, Any, Any]:
        """Around the providers: time the optimized path, rescue it with the original."""
        start = time.perf_counter()
        try:
            result = yield
        except Exception as exc:
            self.tracker.record(operation, OPTIMIZED, time.perf_counter() - start, False)
            with self._lock:
                self.events[operation] += 1
            kernel.metric(
                "batchkernel.fallback.events", 1, operation=operation, error=type(exc).__name__
            )
            kernel.log.warning(
                "optimized %s failed (%s: %s); answering with the original processor",
                operation,
                type(exc).__name__,
                exc,
            )
            try:
                return self._original(kernel, operation, kwargs)
            except Exception as second:
                raise second from exc
        if isinstance(result, Routed):
            if result.error is not None:
                raise result.error
            return result.answer
        self.tracker.record(operation, OPTIMIZED, time.perf_counter() - start, True)
        return result

    @hookimpl
    def collect_status(self, kernel: KernelAPI) -> dict[str, Any]:
        """Fallback events per operation and the tracker's current choice with its reason."""
        with self._lock:
            events = dict(self.events)
        return {
            "fallback": {
                "events": sum(events.values()),
                "by_operation": events,
                "tracker": self.tracker.snapshot(),
            }
        }

    @hookimpl
    def merge_status(self, kernel: KernelAPI, section: str, parts: Sequence[Any]) -> Any:
        """Several instances' ``fallback`` sections as one: events summed (in all and per
        operation); the tracker's choice from the newest instance."""
        if section != "fallback":
            return None
        sections = [part for part in parts if isinstance(part, dict)] or [{}]
        merged = dict(sections[0])
        events = [part.get("events") for part in sections]
        if all(isinstance(count, int | float) for count in events):
            merged["events"] = sum(events)
        per_operation: dict[str, float] = {}
        for part in sections:
            for operation, count in (part.get("by_operation") or {}).items():
                if isinstance(count, int | float):
                    per_operation[operation] = per_operation.get(operation, 0) + count
        if per_operation:
            merged["by_operation"] = per_operation
        return merged

    @hookimpl(tryfirst=True, specname="fetch_pending")
    def route_fetch_pending(self, kernel: KernelAPI, companies: Any, flush: bool) -> Any:
        """Router for ``fetch_pending``."""
        return self._route(kernel, "fetch_pending", {"companies": companies, "flush": flush})

    @hookimpl(wrapper=True, specname="fetch_pending")
    def guard_fetch_pending(
        self, kernel: KernelAPI, companies: Any, flush: bool
    ) -> Generator[None, Any, Any]:
        """Rescue for ``fetch_pending``."""
        kwargs = {"companies": companies, "flush": flush}
        return (yield from self._guard(kernel, "fetch_pending", kwargs))

    @hookimpl(tryfirst=True, specname="record_submitted")
    def route_record_submitted(self, kernel: KernelAPI, submissions: Any) -> Any:
        """Router for ``record_submitted``."""
        return self._route(kernel, "record_submitted", {"submissions": submissions})

    @hookimpl(wrapper=True, specname="record_submitted")
    def guard_record_submitted(
        self, kernel: KernelAPI, submissions: Any
    ) -> Generator[None, Any, Any]:
        """Rescue for ``record_submitted``."""
        return (yield from self._guard(kernel, "record_submitted", {"submissions": submissions}))

    @hookimpl(tryfirst=True, specname="fetch_inflight")
    def route_fetch_inflight(self, kernel: KernelAPI, companies: Any) -> Any:
        """Router for ``fetch_inflight``."""
        return self._route(kernel, "fetch_inflight", {"companies": companies})

    @hookimpl(wrapper=True, specname="fetch_inflight")
    def guard_fetch_inflight(self, kernel: KernelAPI, companies: Any) -> Generator[None, Any, Any]:
        """Rescue for ``fetch_inflight``."""
        return (yield from self._guard(kernel, "fetch_inflight", {"companies": companies}))

    @hookimpl(tryfirst=True, specname="record_batch_statuses")
    def route_record_batch_statuses(self, kernel: KernelAPI, updates: Any) -> Any:
        """Router for ``record_batch_statuses``."""
        return self._route(kernel, "record_batch_statuses", {"updates": updates})

    @hookimpl(wrapper=True, specname="record_batch_statuses")
    def guard_record_batch_statuses(
        self, kernel: KernelAPI, updates: Any
    ) -> Generator[None, Any, Any]:
        """Rescue for ``record_batch_statuses``."""
        return (yield from self._guard(kernel, "record_batch_statuses", {"updates": updates}))

    @hookimpl(tryfirst=True, specname="fetch_finished")
    def route_fetch_finished(self, kernel: KernelAPI, companies: Any) -> Any:
        """Router for ``fetch_finished``."""
        return self._route(kernel, "fetch_finished", {"companies": companies})

    @hookimpl(wrapper=True, specname="fetch_finished")
    def guard_fetch_finished(self, kernel: KernelAPI, companies: Any) -> Generator[None, Any, Any]:
        """Rescue for ``fetch_finished``."""
        return (yield from self._guard(kernel, "fetch_finished", {"companies": companies}))

    @hookimpl(tryfirst=True, specname="apply_results")
    def route_apply_results(self, kernel: KernelAPI, results: Any) -> Any:
        """Router for ``apply_results``."""
        return self._route(kernel, "apply_results", {"results": results})

    @hookimpl(wrapper=True, specname="apply_results")
    def guard_apply_results(self, kernel: KernelAPI, results: Any) -> Generator[None, Any, Any]:
        """Rescue for ``apply_results``."""
        return (yield from self._guard(kernel, "apply_results", {"results": results}))

    @hookimpl(tryfirst=True, specname="retry_failed")
    def route_retry_failed(self, kernel: KernelAPI, companies: Any) -> Any:
        """Router for ``retry_failed``."""
        return self._route(kernel, "retry_failed", {"companies": companies})

    @hookimpl(wrapper=True, specname="retry_failed")
    def guard_retry_failed(self, kernel: KernelAPI, companies: Any) -> Generator[None, Any, Any]:
        """Rescue for ``retry_failed``."""
        return (yield from self._guard(kernel, "retry_failed", {"companies": companies}))
