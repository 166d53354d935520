"""GeminiEmulatorServer: the Gemini batch API on loopback, for the real ``google-genai`` SDK.

It reuses the shared emulator's HTTP plumbing and server lifecycle; only the app differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from plugins.emulator.config import EmulatorConfig
from plugins.emulator.server import EmulatorServer

from .api import GeminiApp
from .config import GeminiEmulatorConfig


class GeminiEmulatorServer(EmulatorServer):
    """Start/stop like :class:`EmulatorServer`; give the SDK ``base_url`` and any API key."""

    DIR_PREFIX: ClassVar[str] = "gemini-emulator-"
    app: GeminiApp

    def __init__(
        self,
        config: GeminiEmulatorConfig | Mapping[str, Any] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | Path | None = None,
    ) -> None:
        if config is None:
            config = GeminiEmulatorConfig()
        elif not isinstance(config, GeminiEmulatorConfig):
            config = GeminiEmulatorConfig.from_dict(config)
        super().__init__(config, host=host, port=port, data_dir=data_dir)

    def _build_app(self, config: EmulatorConfig, directory: Path) -> GeminiApp:
        """The Gemini app (the constructor has already made the config a Gemini one)."""
        if not isinstance(config, GeminiEmulatorConfig):
            raise TypeError(f"the Gemini emulator needs a GeminiEmulatorConfig, got {config!r}")
        return GeminiApp(config, directory)

    @property
    def base_url(self) -> str:
        """The ``http_options.base_url`` for the SDK (it adds the API version itself)."""
        return f"http://{self._host}:{self._port}/"

    @property
    def config(self) -> GeminiEmulatorConfig:
        """The settings in force."""
        return self.app.config

    def stop(self) -> None:
        """Stop serving and close unfinished uploads, then clean up as the base class does."""
        self.app.store.files.close()
        super().stop()


def serve_forever(
    config: GeminiEmulatorConfig | Mapping[str, Any] | None = None,
    host: str = "127.0.0.1",
    port: int = 8101,
    data_dir: str | Path | None = None,
) -> None:
    """Run the Gemini emulator in the foreground until interrupted."""
    import signal
    import threading

    server = GeminiEmulatorServer(config, host=host, port=port, data_dir=data_dir).start()
    print(f"gemini batch emulator listening on {server.base_url}", flush=True)
    stopped = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
