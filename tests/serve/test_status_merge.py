"""Plugin status sections of several scheduler instances, each merged by the plugin that owns it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.db.models import SchedulerInstance
from plugins.common.monitoring.queries import MonitorReader
from plugins.common.monitoring.snapshot import build_snapshot

NEWER = {
    "cache": {"backend": "disk", "hits": 90, "misses": 10, "refreshes": 2, "hit_rate": 0.9},
    "breakers": {
        "create": {"state": "closed", "failures": 0},
        "upload": {"state": "half_open", "failures": 3},
    },
    "fallback": {"events": 1, "by_operation": {"fetch_pending": 1}, "tracker": {"choice": "a"}},
    "queue": {"depth": 7},
    "tally": 5,
}
OLDER = {
    "cache": {"backend": "redis", "hits": 10, "misses": 90, "refreshes": 1, "hit_rate": 0.1},
    "breakers": {"create": {"state": "open", "failures": 5}},
    "fallback": {"events": 2, "by_operation": {"fetch_pending": 1, "apply_results": 1}},
    "queue": {"depth": 3},
    "tally": 4,
}


class Tally:
    """A plugin that owns the ``tally`` section: its instances' parts are summed."""

    @hookimpl
    def merge_status(self, kernel: KernelAPI, section: str, parts: Sequence[Any]) -> Any:
        return sum(parts) if section == "tally" else None


def record_instances(kernel: KernelAPI) -> None:
    """Two live instances (newest heartbeat first) and one stopped one."""
    now = datetime.now(UTC)
    with kernel.db.transaction() as session:
        for name, beat, status, stopped in (
            ("newer", now, NEWER, None),
            ("older", now - timedelta(seconds=1), OLDER, None),
            ("gone", now - timedelta(seconds=2), {"tally": 1000}, now),
        ):
            session.add(
                SchedulerInstance(
                    id=name,
                    host="h",
                    pid=1,
                    started_at=now - timedelta(minutes=1),
                    heartbeat_at=beat,
                    stopped_at=stopped,
                    tasks={},
                    plugin_status=status,
                )
            )


def test_each_section_is_merged_by_its_owner(make_kernel: Any, db_url: str) -> None:
    kernel = make_kernel(
        db_url,
        extra=[("tally", Tally())],
        plugins__processor="optimized",
        plugins__cache="cache-memory",
    )
    record_instances(kernel)
    reader = MonitorReader.for_database(kernel.db)
    try:
        snapshot = build_snapshot(reader, kernel)
    finally:
        reader.dispose()
    assert snapshot["scheduler"]["live"] == 2
    assert snapshot["plugin_sections"] == ["breakers", "cache", "fallback", "queue", "tally"]
    cache = snapshot["cache"]
    assert (cache["hits"], cache["misses"], cache["refreshes"]) == (100, 100, 3)
    assert cache["hit_rate"] == 0.5 and cache["backend"] == "disk, redis"
    assert snapshot["breakers"]["create"] == {"state": "open", "failures": 5}
    assert snapshot["breakers"]["upload"]["state"] == "half_open"
    fallback = snapshot["fallback"]
    assert fallback["events"] == 3
    assert fallback["by_operation"] == {"fetch_pending": 2, "apply_results": 1}
    assert snapshot["queue"] == {"depth": 7}, "no owner: the newest instance's part"
    assert snapshot["tally"] == 9, "the stopped instance is not counted"
