"""The hooks every cache backend shares: a ``tryfirst`` lookup that fills itself on a miss.

``get_companies`` answers first: with the cached list on a hit; on a miss with the processors'
answer, which it asks for itself (without this plugin) and stores. ``companies_changed`` drops
the entry so a change made through batchkernel is seen at once; one made behind its back is seen
within the TTL. Hits, misses and refreshes go to ``record_metric`` and to the ``cache`` status section.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.types import Company
from plugins.cache_common.config import CacheConfig
from plugins.cache_common.flight import CompanyCache, Ticket
from plugins.cache_common.stats import CacheStats, merge_sections
from plugins.cache_common.store import Store
from plugins.common.hookspecs import HealthCheck

log = logging.getLogger("batchkernel.cache")

LOOKUPS = "batchkernel.cache.lookups"
REFRESHES = "batchkernel.cache.refreshes"


class CachePlugin:
    """Base of ``cache-memory``, ``cache-disk`` and ``cache-redis``; subclasses open the store.

    ``clock`` (wall-clock seconds, shared by every process of a shared store) can be replaced,
    e.g. by tests that simulate an hour in a second.
    """

    backend: ClassVar[str] = ""

    def __init__(self) -> None:
        self.clock = time.time
        self.stats = CacheStats()
        self.config: CacheConfig | None = None
        self._cache: CompanyCache | None = None
        self._open_lock = threading.Lock()

    def open_store(self, kernel: KernelAPI) -> Store:
        """The backend's store for ``kernel``'s database (implemented by each backend)."""
        raise NotImplementedError

    def cache(self, kernel: KernelAPI) -> CompanyCache:
        """The company cache, opened on first use from the kernel's settings."""
        if self._cache is None:
            with self._open_lock:
                if self._cache is None:
                    self.config = CacheConfig.from_settings(kernel.settings)
                    self._cache = CompanyCache(
                        self.open_store(kernel),
                        self.config,
                        clock=lambda: self.clock(),
                        stats=self.stats,
                        refresh=lambda: self._query(kernel),
                        on_refresh=lambda: kernel.metric(REFRESHES, 1, backend=self.backend),
                    )
        return self._cache

    def _query(self, kernel: KernelAPI) -> list[Company] | None:
        """The processors' answer without this plugin (no recursion into the cache)."""
        caller = kernel.pm.subset_hook_caller("get_companies", remove_plugins=[self])
        return caller(kernel=kernel)

    @hookimpl(tryfirst=True)
    def get_companies(self, kernel: KernelAPI) -> list[Company] | None:
        """The cached ACTIVE companies on a hit; on a miss, the processor's answer, stored here.

        The miss is answered by asking the processors without this plugin, so the lookup, the
        fill and the release of the fill lock happen in this one call with no state kept
        between hooks. An unavailable cache answers ``None`` and the processor queries.
        """
        try:
            companies, ticket = self.cache(kernel).lookup()
        except Exception as exc:
            log.warning(
                "company cache (%s) unavailable: %s: %s", self.backend, type(exc).__name__, exc
            )
            self.stats.add(misses=1, errors=1)
            kernel.metric(LOOKUPS, 1, result="miss", backend=self.backend)
            return None
        kernel.metric(LOOKUPS, 1, result="hit" if ticket.hit else "miss", backend=self.backend)
        if ticket.hit:
            self.stats.add(hits=1, coalesced=int(ticket.waited))
            return companies
        self.stats.add(misses=1)
        try:
            fresh = self._query(kernel)
            if isinstance(fresh, list):
                self._store(kernel, ticket, fresh)
            return fresh
        finally:
            self._release(ticket)

    def _store(self, kernel: KernelAPI, ticket: Ticket, companies: list[Company]) -> None:
        """Fill the cache; a failing store only costs the next lookup a miss."""
        try:
            self.cache(kernel).fill(ticket, companies)
        except Exception as exc:
            self.stats.add(errors=1)
            log.warning("company cache (%s): store failed: %s", self.backend, exc)

    def _release(self, ticket: Ticket) -> None:
        """Release the fill lock; a failure here only delays others until the lock expires."""
        try:
            if self._cache is not None:
                self._cache.release(ticket)
        except Exception as exc:
            log.warning("company cache (%s): unlock failed: %s", self.backend, exc)

    @hookimpl
    def companies_changed(self, kernel: KernelAPI, company_ids: Sequence[str]) -> None:
        """Drop the cached list so the next lookup reads the database; never raises."""
        try:
            self.cache(kernel).invalidate()
            self.stats.add(invalidations=1)
        except Exception as exc:
            self.stats.add(errors=1)
            log.warning("company cache (%s): invalidation failed: %s", self.backend, exc)

    @hookimpl
    def collect_status(self, kernel: KernelAPI) -> dict[str, Any]:
        """The ``cache`` section: backend, hits, misses, refreshes, hit rate and more."""
        config = self.config or CacheConfig.from_settings(kernel.settings)
        return {"cache": self.stats.section(self.backend, config.ttl_seconds)}

    @hookimpl
    def merge_status(self, kernel: KernelAPI, section: str, parts: Sequence[Any]) -> Any:
        """Merge the instances' ``cache`` sections (see :func:`merge_sections`)."""
        if section != "cache":
            return None
        return merge_sections([part for part in parts if isinstance(part, dict)] or [{}])

    @hookimpl
    def health_checks(self, kernel: KernelAPI, remote: bool) -> list[HealthCheck]:
        """One read of the store. Not blocking: lookups fall back to the database meanwhile."""
        try:
            self.cache(kernel).store.generation()
        except Exception as exc:
            return [
                HealthCheck(
                    "cache backend",
                    False,
                    f"{self.backend}: {type(exc).__name__}: {exc}",
                    f"start the {self.backend} backend or fix its settings (`batchkernel "
                    'settings`), or set plugins.cache = "none"; lookups read the database '
                    "meanwhile",
                    blocking=False,
                )
            ]
        return [HealthCheck("cache backend", True, f"{self.backend} answered a read")]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait for a background refresh to finish; True when none is running."""
        return self._cache.wait_idle(timeout) if self._cache is not None else True

    @hookimpl
    def shutdown(self, kernel: KernelAPI) -> None:
        """Close the store when the kernel closes."""
        self.close()

    def close(self) -> None:
        """Release the store's connections or files."""
        if self._cache is not None:
            self._cache.wait_idle(1.0)
            self._cache.store.close()
