"""The company-cache hit rate at the default task intervals: an hour of scheduler task runs
(create, poll, apply, retry, reconcile, each on its ``scheduler.*_interval_seconds``) stepped
through on a fake clock, one ``get_companies`` per task run, as the scheduler does."""

from __future__ import annotations

from typing import Any

from kernel.manager import Kernel
from kernel.scheduler import TASKS
from kernel.settings import load_settings

HOUR = 3600


class FakeClock:
    """A wall clock the simulation sets by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def simulate_hour(url: str, workdir: str) -> dict[str, Any]:
    """Hit rate of the configured cache plugin over a simulated hour; ``measured`` says if it ran."""
    settings = load_settings(
        {
            "database.url": url,
            "batch.workdir": f"{workdir}/files",
            "cache.directory": f"{workdir}/cache-hour",
            "plugins.autoload": False,
            "plugins.processor": "optimized",
        }
    )
    name = str(settings.plugins.cache)
    if name == "none":
        return {"measured": False, "reason": "no cache plugin selected (plugins.cache = none)"}
    kernel = Kernel.create(settings)
    try:
        plugin = kernel.pm.get_plugin(name)
        if plugin is None or not hasattr(plugin, "clock") or not hasattr(plugin, "wait_idle"):
            return {"measured": False, "reason": f"cache plugin {name!r} has no injectable clock"}
        clock = FakeClock()
        plugin.clock = clock
        start = clock.now
        schedule = kernel.settings.scheduler
        runs = sorted(
            (offset, order)
            for order, task in enumerate(TASKS)
            for offset in range(0, HOUR, int(schedule[f"{task}_interval_seconds"]))
        )
        with kernel.db.queries.measure() as measured:
            for offset, _order in runs:
                clock.now = start + offset
                kernel.get_companies()
                plugin.wait_idle()
        section = kernel.collect_status().get("cache") or {}
        return {
            "measured": True,
            "backend": name,
            "lookups": len(runs),
            "hits": section.get("hits"),
            "misses": section.get("misses"),
            "refreshes": section.get("refreshes"),
            "hit_rate": section.get("hit_rate"),
            "database_reads": measured["queries"],
        }
    finally:
        closer = getattr(kernel.pm.get_plugin(name), "close", None)
        if closer is not None:
            closer()
        kernel.close()
