"""Selection and failure modes: the default is cache-disk, a broken store never stops work."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from kernel.manager import Kernel
from kernel.settings import load_settings
from kernel.types import PluginLoadError
from plugins.cache_common import database_namespace
from plugins.cache_disk import DiskCache, cache_directory
from plugins.common import calls
from plugins.emulator import EmulatorConfig, EmulatorServer
from tests.cache.support import add_companies, ids
from tests.support.forkserver import run_cli


@pytest.fixture
def emulator() -> Iterator[str]:
    """The base URL of an emulator, so the run's provider calls answer at once."""
    with EmulatorServer(EmulatorConfig()).start() as server:
        yield server.base_url


def test_the_default_settings_load_cache_disk(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.plugins.cache == "cache-disk"
    assert settings.cache.ttl_seconds == 300 and settings.cache.refresh_ahead == 0.8
    assert cache_directory(settings) == Path(".batchkernel/cache")
    kernel = Kernel.create(overrides={"plugins.autoload": False})
    assert isinstance(kernel.pm.get_plugin("cache-disk"), DiskCache)
    hooks = {
        caller.name
        for caller in kernel.pm.get_hookcallers(kernel.pm.get_plugin("cache-disk")) or []
    }
    assert hooks == {
        "get_companies",
        "companies_changed",
        "collect_status",
        "merge_status",
        "shutdown",
        "health_checks",
    }


def test_cache_directory_follows_the_workdir(
    make_kernel: Any, sqlite_url: str, tmp_path: Path
) -> None:
    kernel = make_kernel(sqlite_url)
    assert cache_directory(kernel.settings) == tmp_path / "cache"


def test_namespace_ignores_spelling_but_not_the_database(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    assert database_namespace("sqlite:///x.db") == database_namespace(f"sqlite:///{tmp_path}/x.db")
    assert database_namespace("sqlite:///x.db") != database_namespace("sqlite:///y.db")
    assert database_namespace("postgresql://u:one@h/db") == database_namespace(
        "postgresql+psycopg://u:two@h/db"
    )
    assert database_namespace("postgresql://u@h/db1") != database_namespace("postgresql://u@h/db2")


def test_cache_redis_without_the_package_names_the_extra(monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(PluginLoadError, match=r"batchkernel\[redis\]"):
        Kernel.create(overrides={"plugins.autoload": False, "plugins.cache": "cache-redis"})


def test_an_unreachable_redis_only_costs_misses(make_kernel: Any, sqlite_url: str) -> None:
    kernel = make_kernel(
        sqlite_url, plugins__cache="cache-redis", cache__redis_url="redis://127.0.0.1:1/0"
    )
    add_companies(kernel, "a")
    assert ids(kernel.get_companies()) == ["a"]
    calls.companies_changed(kernel, ["a"])
    section = kernel.collect_status()["cache"]
    assert section["misses"] == 1 and section["hits"] == 0 and section["errors"] >= 2


def test_status_json_shows_the_cache_after_run_once(tmp_path: Path, emulator: str) -> None:
    """The real commands in subprocesses: import, run --once, status --json."""
    env = {
        "PATH": str(Path(sys.executable).parent),
        "HOME": str(tmp_path),
        "BATCHKERNEL_DATABASE__URL": f"sqlite:///{tmp_path / 'status.db'}",
        "BATCHKERNEL_PLUGINS__AUTOLOAD": "false",
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": emulator,
    }
    source = tmp_path / "one.jsonl"
    source.write_text(
        '{"company": "acme", "session_id": "s-1", "start_time": "2026-11-01T09:00:00Z",'
        ' "messages": [{"role": "user", "content": "hello"}]}\n'
    )

    def batchkernel(*args: str) -> str:
        done = run_cli(args, cwd=tmp_path, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    batchkernel("import", str(source))
    batchkernel("run", "--once", "--no-provider-check")
    snapshot = orjson.loads(batchkernel("status", "--json"))
    cache = snapshot["cache"]
    assert cache["backend"] == "disk"
    assert cache["misses"] == 1 and cache["hits"] >= 4
    assert cache["hit_rate"] == cache["hits"] / (cache["hits"] + cache["misses"])
    assert (tmp_path / ".batchkernel" / "cache").is_dir()
    env["COLUMNS"] = "200"
    text = batchkernel("status")
    assert re.search(r"cache misses\W+1\b", text) and re.search(r"cache refreshes\W+0\b", text)
    assert re.search(r"cache backend\W+disk\b", text) and "cache hit_rate" in text
