"""batchkernel's microkernel: hook specifications, plugin manager, settings, data model, scheduler.

Plugins import the ``hookimpl`` marker from here, and ``hookspec`` for hooks that only plugins
call (declared through ``declare_hookspecs``).
"""

import pluggy

PROJECT = "batchkernel"

hookimpl = pluggy.HookimplMarker(PROJECT)
hookspec = pluggy.HookspecMarker(PROJECT)

__all__ = ["PROJECT", "hookimpl", "hookspec"]
