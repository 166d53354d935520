"""Plugin ``serve``: the monitoring HTTP server behind ``batchkernel serve`` and its dashboard."""

from plugins.serve.plugin import ServePlugin, start_server

__all__ = ["ServePlugin", "start_server"]
