"""Hits, misses, TTL expiry, metrics and the ``cache`` status section, for every backend."""

from __future__ import annotations

from typing import Any

from tests.cache.support import MetricRecorder, add_companies, ids


def test_first_lookup_misses_then_hits_without_queries(cached_kernel: Any) -> None:
    kernel, plugin, _clock = cached_kernel()
    add_companies(kernel, "b", "a")
    with kernel.db.queries.measure() as first:
        assert ids(kernel.get_companies()) == ["a", "b"]
    with kernel.db.queries.measure() as later:
        for _ in range(5):
            assert ids(kernel.get_companies()) == ["a", "b"]
    assert first["queries"] == 1 and later["queries"] == 0
    assert (plugin.stats.hits, plugin.stats.misses, plugin.stats.refreshes) == (5, 1, 0)


def test_entry_expires_after_the_ttl(cached_kernel: Any) -> None:
    kernel, plugin, clock = cached_kernel(cache__refresh_ahead=1.0)
    add_companies(kernel, "a")
    kernel.get_companies()
    clock.advance(299)
    with kernel.db.queries.measure() as fresh:
        kernel.get_companies()
    clock.advance(1)
    with kernel.db.queries.measure() as expired:
        kernel.get_companies()
    assert fresh["queries"] == 0 and expired["queries"] == 1
    assert (plugin.stats.hits, plugin.stats.misses) == (1, 2)


def test_refresh_ahead_serves_the_cached_list_and_reads_once_in_the_background(
    cached_kernel: Any,
) -> None:
    kernel, plugin, clock = cached_kernel()
    add_companies(kernel, "a")
    kernel.get_companies()
    clock.advance(250)  # past 80 % of the 300 s TTL
    with kernel.db.queries.measure() as measured:
        assert ids(kernel.get_companies()) == ["a"]
        assert plugin.wait_idle()
    clock.advance(200)  # 450 s after the first read: expired without the refresh
    with kernel.db.queries.measure() as after:
        kernel.get_companies()
    assert measured["queries"] == 1 and after["queries"] == 0
    stats = plugin.stats
    assert (stats.hits, stats.misses, stats.refreshes, stats.database_reads) == (2, 1, 1, 2)


def test_lookups_are_reported_as_metrics_and_status(cached_kernel: Any, backend: str) -> None:
    recorder = MetricRecorder()
    kernel, plugin, clock = cached_kernel(extra=[("recorder", recorder)])
    add_companies(kernel, "a")
    for _ in range(4):
        kernel.get_companies()
    clock.advance(250)
    kernel.get_companies()
    assert plugin.wait_idle()
    lookups = [m for m in recorder.metrics if m.name == "batchkernel.cache.lookups"]
    assert [m.attributes["result"] for m in lookups] == ["miss", "hit", "hit", "hit", "hit"]
    assert {m.attributes["backend"] for m in lookups} == {backend}
    assert all(m.kind == "counter" and m.value == 1 for m in lookups)
    refreshes = [m for m in recorder.metrics if m.name == "batchkernel.cache.refreshes"]
    assert len(refreshes) == 1 and refreshes[0].attributes["backend"] == backend
    section = kernel.collect_status()["cache"]
    assert {k: section[k] for k in ("backend", "hits", "misses", "refreshes", "hit_rate")} == {
        "backend": backend,
        "hits": 4,
        "misses": 1,
        "refreshes": 1,
        "hit_rate": 0.8,
    }
    assert section["database_reads"] == 2 and section["ttl_seconds"] == 300


def test_status_before_any_lookup_reports_no_rate(cached_kernel: Any, backend: str) -> None:
    kernel, _plugin, _clock = cached_kernel()
    section = kernel.collect_status()["cache"]
    assert section["backend"] == backend and section["hits"] == section["misses"] == 0
    assert section["hit_rate"] is None
