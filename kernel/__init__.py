"""batchkernel's microkernel: hook specifications, plugin manager, settings, data model, scheduler.

Plugins import the ``hookimpl`` marker from here, and ``hookspec`` for hooks that only plugins
call (declared through ``declare_hookspecs``).
"""

import pluggy

PROJECT = "batchkernel"

hookimpl = pluggy.HookimplMarker(PROJECT)
hookspec = pluggy.HookspecMarker(PROJECT)


class PluginManager(pluggy.PluginManager):
    """pluggy's plugin manager for batchkernel's hooks. Looking for hook implementations, it skips
    a plugin's dunder attributes: an object has dozens, and pluggy inspects each one statically."""

    def __init__(self) -> None:
        super().__init__(PROJECT)

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        """pluggy's answer, or None at once for a dunder name (no hook is named so)."""
        return None if name.startswith("__") else super().parse_hookimpl_opts(plugin, name)


__all__ = ["PROJECT", "PluginManager", "hookimpl", "hookspec"]
