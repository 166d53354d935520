"""Plugin ``emulator``: starts the OpenAI-compatible server for ``demo`` and ``emulator`` commands.

Faults and timings come from the ``[emulator]`` settings section (any ``EmulatorConfig`` key),
plus ``emulator.port`` (0 picks a free port).
"""

from __future__ import annotations

import threading
from typing import Any

from kernel import hookimpl


class EmulatorHandle:
    """A running emulator: its base URL, a way to stop it and to wait until it is stopped."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.base_url: str = server.base_url
        self._stopped = threading.Event()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.server.stop()
        self._stopped.set()

    def wait(self) -> None:
        """Block until ``stop`` is called (or Ctrl-C)."""
        while not self._stopped.wait(0.5):
            pass


class EmulatorPlugin:
    """Answers ``start_emulator``; the server module is imported only when one is started."""

    @hookimpl
    def start_emulator(self, kernel: Any) -> EmulatorHandle:
        """Start the emulator on loopback with the configured faults."""
        from plugins.emulator.config import EmulatorConfig
        from plugins.emulator.server import EmulatorServer

        section = dict(kernel.settings.get("emulator", {}) or {})
        port = int(section.pop("port", 0))
        config = EmulatorConfig.from_dict({str(k).lower(): v for k, v in section.items()})
        return EmulatorHandle(EmulatorServer(config, host="127.0.0.1", port=port).start())
