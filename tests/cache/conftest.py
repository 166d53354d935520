"""Fixtures for cache tests: a kernel with one cache backend over a real database and store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cache.support import BACKENDS, FakeClock


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each cache backend in turn (redis needs the server the ``redis_url`` fixture finds)."""
    return str(request.param)


@pytest.fixture
def cache_settings(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Settings selecting ``backend``: a tmp cache directory, a Redis key prefix per test."""
    settings: dict[str, Any] = {
        "plugins__cache": f"cache-{backend}",
        "cache__directory": str(tmp_path / "cache"),
    }
    if backend == "redis":
        settings["cache__redis_url"] = request.getfixturevalue("redis_url")
        settings["cache__key_prefix"] = request.getfixturevalue("redis_key_prefix")
    return settings


@pytest.fixture
def cached_kernel(
    make_kernel: Callable[..., Any], db_url: str, backend: str, cache_settings: dict[str, Any]
) -> Iterator[Callable[..., tuple[Any, Any, FakeClock]]]:
    """Build a kernel with the cache backend on ``db_url``; returns (kernel, plugin, clock)."""
    plugins: list[Any] = []

    def factory(**overrides: Any) -> tuple[Any, Any, FakeClock]:
        kernel = make_kernel(db_url, **(cache_settings | overrides))
        plugin = kernel.pm.get_plugin(f"cache-{backend}")
        assert plugin is not None, kernel.pm.list_name_plugin()
        clock = FakeClock()
        plugin.clock = clock
        plugins.append(plugin)
        return kernel, plugin, clock

    yield factory
    for plugin in plugins:
        plugin.close()
