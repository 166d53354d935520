"""Answers ``start_server``: builds the app from settings and serves it on a background thread
(Hypercorn, see :mod:`plugins.serve.server`)."""

from __future__ import annotations

from typing import Any

from kernel import hookimpl


class ServePlugin:
    """The ``serve`` plugin; the server modules load only when a server starts."""

    @hookimpl
    def start_server(self, kernel: Any, host: str, port: int) -> Any:
        """Start the monitoring server on ``host:port`` (0: any free port); returns its handle."""
        from plugins.serve.app import MonitoringApp
        from plugins.serve.auth import TokenTable
        from plugins.serve.server import MonitoringServer, ServerLimits

        tokens = TokenTable.from_settings(kernel.settings)
        limits = ServerLimits.from_settings(kernel.settings)
        app = MonitoringApp(kernel, tokens)
        return MonitoringServer(app, host=host, port=port, limits=limits).start()
