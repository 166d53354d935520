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
    module that declares its settings (read even when the plugin is not enabled).

    Role ``command`` marks a plugin that only adds commands: it is registered at every start
    unless ``plugins.disabled`` names it.
    """

    name: str
    target: str
    role: str
    requires: tuple[str, ...] = ()
    settings: str = ""


BUILTIN_PLUGINS: dict[str, CatalogEntry] = {
    entry.name: entry
    for entry in (
        CatalogEntry("core", "kernel.core:CorePlugin", "kernel"),
        CatalogEntry("original", "plugins.original:OriginalProcessor", "processor"),
        CatalogEntry("optimized", "plugins.optimized:OptimizedProcessor", "processor"),
        CatalogEntry(
            "fallback", "plugins.fallback:FallbackPlugin", "processor", requires=("optimized",)
        ),
        CatalogEntry(
            "budget",
            "plugins.budget:BudgetPlugin",
            "extension",
            settings="plugins.budget.settings_spec",
        ),
        CatalogEntry(
            "openai",
            "plugins.openai_provider:OpenAIProvider",
            "provider",
            settings="plugins.openai_provider.settings_spec",
        ),
        CatalogEntry(
            "azure-openai",
            "plugins.openai_provider:AzureOpenAIProvider",
            "provider",
            settings="plugins.openai_provider.azure_settings_spec",
        ),
        CatalogEntry(
            "anthropic",
            "plugins.anthropic_provider:AnthropicProvider",
            "provider",
            settings="plugins.anthropic_provider.settings_spec",
        ),
        CatalogEntry(
            "gemini",
            "plugins.gemini_provider:GeminiProvider",
            "provider",
            settings="plugins.gemini_provider.settings_spec",
        ),
        CatalogEntry(
            "cache-disk",
            "plugins.cache_disk:DiskCache",
            "cache",
            settings="plugins.cache_disk.settings_spec",
        ),
        CatalogEntry(
            "cache-memory",
            "plugins.cache_memory:MemoryCache",
            "cache",
            settings="plugins.cache_common.settings_spec",
        ),
        CatalogEntry(
            "cache-redis",
            "plugins.cache_redis:RedisCache",
            "cache",
            settings="plugins.cache_redis.settings_spec",
        ),
        CatalogEntry(
            "otel", "plugins.otel:OtelPlugin", "exporter", settings="plugins.otel.settings_spec"
        ),
        CatalogEntry(
            "serve", "plugins.serve:ServePlugin", "command", settings="plugins.serve.settings_spec"
        ),
        CatalogEntry(
            "emulator",
            "plugins.emulator_command:EmulatorCommand",
            "command",
            settings="plugins.emulator_command.settings_spec",
        ),
        CatalogEntry("importer", "plugins.importer:ImportCommand", "command"),
        CatalogEntry("companies", "plugins.companies:CompaniesCommand", "command"),
        CatalogEntry("tasks", "plugins.tasks:TasksCommand", "command"),
        CatalogEntry("operations", "plugins.operations:OperationsPlugin", "command"),
        CatalogEntry("status", "plugins.status:StatusCommand", "command"),
        CatalogEntry("doctor", "plugins.doctor:DoctorCommand", "command"),
        CatalogEntry("demo", "plugins.demo:DemoCommand", "command"),
        CatalogEntry("bench", "plugins.bench:BenchCommand", "command"),
        CatalogEntry("chaos", "plugins.chaos:ChaosCommand", "command"),
    )
}
COMMAND_PLUGINS = tuple(name for name, entry in BUILTIN_PLUGINS.items() if entry.role == "command")


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
