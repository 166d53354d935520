"""Where plugins come from: the in-code catalog of built-ins and the ``batchkernel.plugins`` entry points.

Built-ins resolve from this table, so the kernel works even when package metadata is stale;
third-party plugins resolve through ``importlib.metadata``. The entry-point name, the settings
value, the block-list key and the ``batchkernel plugins`` key are one and the same.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

ENTRY_POINT_GROUP = "batchkernel.plugins"


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A built-in plugin: import target, role, the plugins it cannot work without, and the light
    module that declares its settings (read even when the plugin is not enabled)."""

    name: str
    target: str
    role: str
    description: str
    requires: tuple[str, ...] = ()
    settings: str = ""


BUILTIN_PLUGINS: dict[str, CatalogEntry] = {
    entry.name: entry
    for entry in (
        CatalogEntry(
            "core",
            "kernel.core:CorePlugin",
            "kernel",
            "the kernel's own default answers (runs scheduler steps)",
        ),
        CatalogEntry(
            "original",
            "plugins.original:OriginalProcessor",
            "processor",
            "per-company processing, the original system's query pattern (baseline)",
        ),
        CatalogEntry(
            "optimized",
            "plugins.optimized:OptimizedProcessor",
            "processor",
            "set-based processing: constant queries per cycle, streamed files, staged results",
        ),
        CatalogEntry(
            "fallback",
            "plugins.fallback:FallbackPlugin",
            "processor",
            "rescues the optimized processor with the original; routes by measured performance",
            requires=("optimized",),
        ),
        CatalogEntry(
            "budget",
            "plugins.budget:BudgetPlugin",
            "extension",
            "admission control: cost estimates, budgets, fair shares, enqueued-token limits",
            settings="plugins.budget.settings_spec",
        ),
        CatalogEntry(
            "openai",
            "plugins.openai_provider:OpenAIProvider",
            "provider",
            "OpenAI Batch API through the official openai SDK",
            settings="plugins.openai_provider.settings_spec",
        ),
        CatalogEntry(
            "cache-disk",
            "plugins.cache_disk:DiskCache",
            "cache",
            "company cache in a diskcache directory, shared by the processes of one machine",
            settings="plugins.cache_disk.settings_spec",
        ),
        CatalogEntry(
            "cache-memory",
            "plugins.cache_memory:MemoryCache",
            "cache",
            "company cache inside one process",
            settings="plugins.cache_common.settings_spec",
        ),
        CatalogEntry(
            "cache-redis",
            "plugins.cache_redis:RedisCache",
            "cache",
            "company cache in Redis, shared by several machines (the redis extra)",
            settings="plugins.cache_redis.settings_spec",
        ),
        CatalogEntry(
            "otel",
            "plugins.otel:OtelPlugin",
            "exporter",
            "OpenTelemetry traces and metrics (OTLP HTTP/gRPC, console, Prometheus)",
            settings="plugins.otel.settings_spec",
        ),
        CatalogEntry(
            "serve",
            "plugins.serve:ServePlugin",
            "extension",
            "monitoring HTTP server: health, snapshot JSON/CSV, Prometheus metrics, dashboard",
            settings="plugins.serve.settings_spec",
        ),
        CatalogEntry(
            "emulator",
            "plugins.emulator.plugin:EmulatorPlugin",
            "extension",
            "OpenAI-compatible Batch API server on loopback, with fault injection",
            settings="plugins.emulator.settings_spec",
        ),
    )
}


def import_target(target: str) -> Any:
    """Import ``module:attribute`` and return the attribute."""
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def third_party_entry_points() -> dict[str, EntryPoint]:
    """Installed third-party plugins by canonical name (built-in names cannot be shadowed)."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in BUILTIN_PLUGINS:
            found.setdefault(ep.name, ep)
    return found


def instantiate(obj: Any) -> Any:
    """A loaded plugin target: classes are instantiated, modules and objects are used as they are."""
    return obj() if isinstance(obj, type) else obj
