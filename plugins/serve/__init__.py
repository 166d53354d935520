"""Plugin ``serve``: the monitoring HTTP server behind ``batchkernel serve`` and its dashboard."""

from plugins.serve.plugin import ServePlugin

__all__ = ["ServePlugin"]
