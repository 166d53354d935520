"""A short-lived snapshot cache shared by concurrent requests (single flight).

Requests for the same snapshot (same scope, page and window) within ``ttl`` seconds share one
database build; requests that arrive while it is being built wait for it instead of starting
their own. At most ``max_entries`` snapshots are kept (least recently used go first), so memory
stays flat however many clients poll.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

MAX_ENTRIES = 32


@dataclass
class _Entry:
    """One snapshot: being built (``ready`` unset) or built at ``at`` (monotonic seconds)."""

    ready: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None
    at: float = 0.0


class SnapshotCache:
    """Single-flight TTL cache: ``get(key)`` builds with ``build(key)`` at most once per ``ttl``."""

    def __init__(
        self,
        build: Callable[[Any], Any],
        ttl: float,
        *,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._build = build
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self.builds = 0

    def get(self, key: Hashable) -> Any:
        """The snapshot for ``key``: cached, being built by another request, or built now."""
        with self._lock:
            entry = self._entries.get(key)
            fresh = entry is not None and (
                not entry.ready.is_set() or self._clock() - entry.at < self._ttl
            )
            if entry is not None and fresh:
                self._entries.move_to_end(key)
                leader = False
            else:
                entry = _Entry()
                self._entries[key] = entry
                self._evict()
                self.builds += 1
                leader = True
        if leader:
            return self._lead(key, entry)
        entry.ready.wait()
        if entry.error is not None:
            raise entry.error
        return entry.value

    def _lead(self, key: Hashable, entry: _Entry) -> Any:
        """Build the snapshot for everyone waiting on ``entry``; a failure is not cached."""
        try:
            entry.value = self._build(key)
            entry.at = self._clock()
            return entry.value
        except BaseException as exc:
            entry.error = exc
            with self._lock:
                if self._entries.get(key) is entry:
                    del self._entries[key]
            raise
        finally:
            entry.ready.set()

    def _evict(self) -> None:
        """Drop the least recently used built snapshots beyond ``max_entries`` (lock held)."""
        while len(self._entries) > self._max:
            for old_key, old in self._entries.items():
                if old.ready.is_set():
                    del self._entries[old_key]
                    break
            else:
                return
