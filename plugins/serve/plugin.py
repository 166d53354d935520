"""The ``serve`` plugin: ``batchkernel serve`` and :func:`start_server`, which builds the app from
settings and serves it on a background thread (Hypercorn, see :mod:`plugins.serve.server`).

The server modules (Hypercorn, Starlette) are imported only when a server starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from kernel import hookimpl
from kernel.api import KernelAPI
from plugins.cli.options import DatabaseOption, SettingsOption, console, open_kernel

if TYPE_CHECKING:
    from plugins.serve.server import MonitoringServer


def start_server(kernel: KernelAPI, host: str, port: int) -> MonitoringServer:
    """Start the monitoring server for ``kernel`` on ``host:port`` (0: any free port); the
    running server has ``url``, ``wait()`` and ``stop()``."""
    from plugins.serve.app import MonitoringApp
    from plugins.serve.auth import TokenTable
    from plugins.serve.server import MonitoringServer, ServerLimits

    tokens = TokenTable.from_settings(kernel.settings)
    limits = ServerLimits.from_settings(kernel.settings)
    app = MonitoringApp(kernel, tokens)
    return MonitoringServer(app, host=host, port=port, limits=limits).start()


def serve_command(
    host: Annotated[str | None, typer.Option(help="Address to listen on (serve.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port, 0 for any free one (serve.port).")] = None,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """HTTP: health, the monitoring snapshot as JSON and CSV, Prometheus metrics, a dashboard."""
    import signal

    kernel = open_kernel(settings, database)
    section = kernel.settings.serve
    server = None
    try:
        server = start_server(
            kernel, host or str(section.host), int(section.port) if port is None else port
        )
        running = server
        # Both signals stop the server the same way (Ctrl-C included), not a KeyboardInterrupt
        # raised wherever the main thread happens to be.
        signal.signal(signal.SIGTERM, lambda *_: running.stop())
        signal.signal(signal.SIGINT, lambda *_: running.stop())
        console().print(
            f"serving {server.url}/ (dashboard), /api/batch-monitoring, /metrics, /healthz, /readyz"
        )
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.stop()


class ServePlugin:
    """Adds ``batchkernel serve``."""

    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        """The ``serve`` command."""
        cli.command("serve")(serve_command)
