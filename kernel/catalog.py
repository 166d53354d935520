"""Where plugins come from: this table of built-ins (so stale package metadata does not matter),
and the ``batchkernel.plugins`` entry points; a plugin's name is the same in settings and lists."""

from __future__ import annotations

import functools
import importlib
import sys
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

ENTRY_POINT_GROUP = "batchkernel.plugins"


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A built-in plugin: import target, role (``command``, ``tasks`` and ``extension`` ones are
    registered at every start), the light module that declares its settings."""

    name: str
    target: str
    role: str
    settings: str = ""


_BUILTINS = (
    # name, import target, role, package whose settings_spec declares settings
    ("core", "kernel.core:CorePlugin", "kernel", ""),
    ("original", "plugins.original:OriginalProcessor", "processor", "plugins.common"),
    ("optimized", "plugins.optimized:OptimizedProcessor", "processor", "plugins.common"),
    ("fallback", "plugins.fallback:FallbackPlugin", "processor", ""),
    ("budget", "plugins.budget:BudgetPlugin", "extension", "plugins.budget"),
    ("routing", "plugins.routing:RoutingPlugin", "extension", "plugins.routing"),
    ("session-tasks", "plugins.session_tasks:SessionTasks", "tasks", ""),
    ("openai", "plugins.openai_provider:OpenAIProvider", "provider", "plugins.openai_provider"),
    (
        "anthropic",
        "plugins.anthropic_provider:AnthropicProvider",
        "provider",
        "plugins.anthropic_provider",
    ),
    (
        "azure-openai",
        "plugins.openai_provider:AzureOpenAIProvider",
        "provider",
        "plugins.openai_provider.azure_settings_spec",
    ),
    ("gemini", "plugins.gemini_provider:GeminiProvider", "provider", "plugins.gemini_provider"),
    ("cache-disk", "plugins.cache_disk:DiskCache", "cache", "plugins.cache_disk"),
    ("cache-memory", "plugins.cache_memory:MemoryCache", "cache", "plugins.cache_common"),
    ("cache-redis", "plugins.cache_redis:RedisCache", "cache", "plugins.cache_redis"),
    ("otel", "plugins.otel:OtelPlugin", "exporter", "plugins.otel"),
    ("serve", "plugins.serve:ServePlugin", "command", "plugins.serve"),
    ("emulator", "plugins.emulator_command:EmulatorCommand", "command", "plugins.emulator_command"),
    ("importer", "plugins.importer:ImportCommand", "command", "plugins.importer"),
    ("companies", "plugins.companies:CompaniesCommand", "command", ""),
    ("tasks", "plugins.tasks:TasksCommand", "command", "plugins.tasks"),
    ("operations", "plugins.operations:OperationsPlugin", "command", ""),
    ("doctor", "plugins.doctor:DoctorCommand", "command", ""),
    ("status", "plugins.status:StatusCommand", "command", ""),
    ("demo", "plugins.demo:DemoCommand", "command", ""),
    ("bench", "plugins.bench:BenchCommand", "command", ""),
    ("chaos", "plugins.chaos:ChaosCommand", "command", ""),
    ("settings", "plugins.settings_command:SettingsCommand", "command", ""),
    ("core-commands", "plugins.core_commands:CoreCommands", "command", "plugins.core_commands"),
)


def _settings_module(package: str) -> str:
    """The module that declares a plugin's settings: ``PACKAGE.settings_spec``, or the one named."""
    if not package or package.rpartition(".")[2].endswith("settings_spec"):
        return package
    return f"{package}.settings_spec"


BUILTIN_PLUGINS: dict[str, CatalogEntry] = {
    name: CatalogEntry(name, target, role, _settings_module(settings))
    for name, target, role, settings in _BUILTINS
}
ALWAYS_REGISTERED = tuple(
    name
    for name, entry in BUILTIN_PLUGINS.items()
    if entry.role in ("extension", "tasks", "command")
)
"""Built-ins registered at every start unless ``plugins.disabled`` names them."""


def import_target(target: str) -> Any:
    """Import ``module:attribute`` and return the attribute."""
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def third_party_entry_points() -> dict[str, EntryPoint]:
    """Installed third-party plugins by canonical name (built-in names cannot be shadowed)."""
    return dict(_entry_points_on(tuple(sys.path)))


@functools.lru_cache(maxsize=8)
def _entry_points_on(path: tuple[str, ...]) -> dict[str, EntryPoint]:
    """The plugins' entry points of the distributions on ``path``: read once per import path, as
    scanning every installed distribution costs milliseconds and each kernel asks three times."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in BUILTIN_PLUGINS:
            found.setdefault(ep.name, ep)
    return found


def instantiate(obj: Any) -> Any:
    """A loaded plugin target: classes are instantiated, modules and objects are used as they are."""
    return obj() if isinstance(obj, type) else obj
