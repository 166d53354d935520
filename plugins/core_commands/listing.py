"""``batchkernel plugins``: the plugins the kernel registered, then the built-in and installed
ones it did not load, with their source, version, role, status and hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugins.cli.options import DatabaseOption, SettingsOption, open_kernel

if TYPE_CHECKING:
    from kernel.manager import Kernel, PluginInfo


def plugins(settings: SettingsOption = None, database: DatabaseOption = None) -> None:
    """List every plugin: name, source and version, status, hooks."""
    from rich.console import Console
    from rich.table import Table

    kernel = open_kernel(settings, database)
    infos = describe_plugins(kernel)
    table = Table("name", "source", "version", "role", "status", "hooks")
    for info in infos:
        status = info.status if not info.reason else f"{info.status}: {info.reason}"
        table.add_row(
            info.name, info.source, info.version or "-", info.role, status, ", ".join(info.hooks)
        )
    Console().print(table)


def describe_plugins(kernel: Kernel) -> list[PluginInfo]:
    """Every plugin the kernel knows: registered ones, then built-ins and installed ones not loaded."""
    from kernel.catalog import BUILTIN_PLUGINS, third_party_entry_points
    from kernel.manager import PluginInfo

    infos = {info.name: info for info in kernel.registry}
    for name, entry in BUILTIN_PLUGINS.items():
        infos.setdefault(
            name, PluginInfo(name, "built-in", "", entry.role, "available", "not selected")
        )
    for name, ep in third_party_entry_points().items():
        dist = ep.dist
        infos.setdefault(
            name,
            PluginInfo(
                name,
                dist.name if dist else "unknown",
                dist.version if dist else "",
                "third-party",
                "available",
                "not enabled",
            ),
        )
    return sorted(infos.values(), key=lambda info: (info.status != "enabled", info.name))
