"""Answers ``start_server``: builds the app from settings and serves it on a background thread."""

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
        from plugins.serve.server import MonitoringServer

        app = MonitoringApp(kernel, TokenTable.from_settings(kernel.settings))
        return MonitoringServer(app, host=host, port=port).start()
