"""Concurrent misses cause one database read: threads of one process, processes of one machine."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

from kernel.manager import Kernel
from tests.cache.support import SlowProcessorTier, add_companies, ids


def test_eight_threads_missing_together_make_one_query(cached_kernel: Any) -> None:
    kernel, plugin, _clock = cached_kernel(extra=[("slow", SlowProcessorTier(0.3))])
    add_companies(kernel, "a", "b")
    barrier = threading.Barrier(8)
    answers: list[list[str]] = []

    def lookup() -> None:
        barrier.wait()
        answers.append(ids(kernel.get_companies()))

    threads = [threading.Thread(target=lookup) for _ in range(8)]
    with kernel.db.queries.measure() as measured:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert answers == [["a", "b"]] * 8
    assert measured["queries"] == 1
    stats = plugin.stats
    assert (stats.misses, stats.hits, stats.coalesced) == (1, 7, 7)


def test_a_waiter_gives_up_after_fill_wait_seconds_and_reads_itself(cached_kernel: Any) -> None:
    kernel, plugin, _clock = cached_kernel(cache__fill_wait_seconds=0.2)
    add_companies(kernel, "a")
    store = plugin.cache(kernel).store
    token = store.try_lock(30)  # a holder that never finishes
    assert token is not None
    started = time.monotonic()
    assert ids(kernel.get_companies()) == ["a"]
    waited = time.monotonic() - started
    assert 0.2 <= waited < 30, "waited fill_wait_seconds, not until the holder's lock expired"
    store.unlock(token)
    assert plugin.stats.misses == 1
    assert ids(kernel.get_companies()) == ["a"] and plugin.stats.hits == 1  # it still stored


def _child(db_url: str, directory: str, workdir: str, barrier: Any, queue: Any) -> None:
    """One process: its own kernel on the shared cache directory; reports its query count."""
    kernel = Kernel.create(
        overrides={
            "database.url": db_url,
            "batch.workdir": workdir,
            "plugins.autoload": False,
            "plugins.cache": "cache-disk",
            "cache.directory": directory,
            "openai.api_key": "test-key",
        },
        extra=[("slow", SlowProcessorTier(0.5))],
    )
    try:
        barrier.wait(30)
        with kernel.db.queries.measure() as measured:
            companies = kernel.get_companies()
        queue.put((ids(companies), measured["queries"]))
    finally:
        kernel.close()


def test_two_processes_sharing_a_cache_directory_make_one_query(
    make_kernel: Any, db_url: str, tmp_path: Path
) -> None:
    kernel = make_kernel(db_url)
    add_companies(kernel, "a", "b")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    queue = context.Queue()
    args = (db_url, str(tmp_path / "shared-cache"), str(tmp_path / "files"), barrier, queue)
    children = [context.Process(target=_child, args=args) for _ in range(2)]
    for child in children:
        child.start()
    try:
        results = [queue.get(timeout=60) for _ in children]
    finally:
        for child in children:
            child.join(30)
    assert all(child.exitcode == 0 for child in children)
    assert [answer for answer, _ in results] == [["a", "b"], ["a", "b"]]
    assert sorted(queries for _, queries in results) == [0, 1]


def test_two_databases_never_share_entries(
    make_kernel: Any, sqlite_url: str, tmp_path: Path
) -> None:
    directory = str(tmp_path / "one-cache")
    first = make_kernel(sqlite_url, plugins__cache="cache-disk", cache__directory=directory)
    second = make_kernel(
        f"sqlite:///{tmp_path / 'other.db'}",
        plugins__cache="cache-disk",
        cache__directory=directory,
    )
    add_companies(first, "a")
    add_companies(second, "z")
    assert ids(first.get_companies()) == ["a"] and ids(second.get_companies()) == ["z"]
    assert ids(first.get_companies()) == ["a"] and ids(second.get_companies()) == ["z"]
    for kernel in (first, second):
        kernel.pm.get_plugin("cache-disk").close()
