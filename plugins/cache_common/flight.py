"""The company cache's logic over any :class:`Store`: TTL, single-flight fills, refresh-ahead.

- A fresh entry (younger than the TTL) is a hit. Once it is older than ``refresh_ahead`` of the
  TTL, the hit also starts ONE background refresh (the fill lock makes it single-flight across
  threads, processes and machines) that re-reads the database and stores the new list before the
  entry expires, so steady polling never meets an expired entry.
- A missing or expired entry is a miss: the caller takes the fill lock and goes to the database;
  concurrent callers wait (at most ``fill_wait_seconds``) for that fill and are served from it.
  A waiter that times out goes to the database itself rather than hang.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kernel.types import Company
from plugins.cache_common.config import CacheConfig
from plugins.cache_common.stats import CacheStats
from plugins.cache_common.store import Entry, Store

log = logging.getLogger("batchkernel.cache")

POLL_SECONDS = 0.01


@dataclass(slots=True)
class Ticket:
    """One lookup's outcome, handed from the lookup impl to the storing wrapper."""

    hit: bool
    waited: bool = False
    token: Any = None
    generation: int | None = None
    started_at: float = 0.0


class CompanyCache:
    """Lookups, fills, refreshes and invalidation of one database's company list."""

    def __init__(
        self,
        store: Store,
        config: CacheConfig,
        clock: Callable[[], float],
        stats: CacheStats,
        refresh: Callable[[], list[Company] | None],
        on_refresh: Callable[[], None],
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.stats = stats
        self._refresh_query = refresh
        self._on_refresh = on_refresh
        self._refresher: threading.Thread | None = None
        self._guard = threading.Lock()

    def _fresh(self, entry: Entry | None, now: float) -> bool:
        """Whether ``entry`` exists and is younger than the TTL."""
        return entry is not None and now - entry.stored_at < self.config.ttl_seconds

    def lookup(self) -> tuple[list[Company] | None, Ticket]:
        """The cached companies (hit) or ``None`` with the fill lock held when we got it (miss)."""
        now = self.clock()
        entry = self.store.read()
        if entry is not None and self._fresh(entry, now):
            if now - entry.stored_at >= self.config.refresh_after_seconds:
                self._start_refresh(now)
            return entry.to_companies(), Ticket(hit=True)
        found, token, waited = self._claim()
        if found is not None:
            return found.to_companies(), Ticket(hit=True, waited=waited)
        return None, Ticket(
            hit=False, token=token, generation=self.store.generation(), started_at=now
        )

    def _claim(self) -> tuple[Entry | None, Any, bool]:
        """Take the fill lock or wait for the holder's fill: (entry, lock token, waited).

        ``(None, None, True)`` after ``fill_wait_seconds`` without a fill.
        """
        deadline = time.monotonic() + self.config.fill_wait_seconds
        waited = False
        while True:
            token = self.store.try_lock(self.config.lock_seconds)
            entry = self.store.read()
            if self._fresh(entry, self.clock()):
                if token is not None:
                    self.store.unlock(token)
                return entry, None, waited
            if token is not None:
                return None, token, waited
            if time.monotonic() >= deadline:
                log.warning(
                    "company cache: no fill within %.1f s; reading the database",
                    self.config.fill_wait_seconds,
                )
                return None, None, True
            waited = True
            time.sleep(POLL_SECONDS)

    def fill(self, ticket: Ticket, companies: list[Company]) -> bool:
        """Store a miss's database answer (unless an invalidation happened since the lookup)."""
        if ticket.hit or ticket.generation is None:
            return False
        entry = Entry.of(ticket.started_at, companies)
        return self.store.write(entry, ticket.generation, self.config.ttl_seconds)

    def release(self, ticket: Ticket) -> None:
        """Release the fill lock a miss held, whatever happened to its database read."""
        if ticket.token is not None:
            self.store.unlock(ticket.token)
            ticket.token = None

    def invalidate(self) -> None:
        """Drop the entry so the next lookup reads the database (companies changed)."""
        self.store.invalidate()

    def _start_refresh(self, now: float) -> None:
        """Start one background refresh unless one runs here or anywhere else (the fill lock)."""
        with self._guard:
            if self._refresher is not None and self._refresher.is_alive():
                return
            token = self.store.try_lock(self.config.lock_seconds)
            if token is None:
                return
            self._refresher = threading.Thread(
                target=self._refresh,
                args=(token, now),
                name="batchkernel-cache-refresh",
                daemon=True,
            )
            self._refresher.start()

    def _refresh(self, token: Any, started_at: float) -> None:
        """Re-read the database without the cache in the way and store the result."""
        try:
            generation = self.store.generation()
            companies = self._refresh_query()
            self.stats.add(refreshes=1)
            self._on_refresh()
            if isinstance(companies, list):
                self.store.write(
                    Entry.of(started_at, companies), generation, self.config.ttl_seconds
                )
        except Exception as exc:
            self.stats.add(errors=1)
            log.warning("company cache: refresh failed: %s: %s", type(exc).__name__, exc)
        finally:
            self.store.unlock(token)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait for a running background refresh to finish (tests, shutdown); True if none runs."""
        thread = self._refresher
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True
