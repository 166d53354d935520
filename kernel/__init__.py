"""batchkernel's microkernel: hook specifications, plugin manager, settings, data model, scheduler.

Plugins import the public ``hookimpl`` marker from here; the spec marker stays private.
"""

import pluggy

PROJECT = "batchkernel"

hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["PROJECT", "hookimpl"]
