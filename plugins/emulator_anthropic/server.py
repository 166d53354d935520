"""AnthropicEmulatorServer: the loopback HTTP server in a daemon thread; serve_forever for CLIs."""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from plugins.emulator.handler import EmulatorHTTPServer

from .api import AnthropicEmulatorApp
from .config import AnthropicEmulatorConfig


class AnthropicEmulatorServer:
    """The Message Batches API on loopback, for the real ``anthropic`` SDK (``base_url`` has no
    ``/v1``: the SDK's paths start with it)."""

    def __init__(
        self,
        config: AnthropicEmulatorConfig | Mapping[str, Any] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | Path | None = None,
    ) -> None:
        if config is None:
            config = AnthropicEmulatorConfig()
        elif not isinstance(config, AnthropicEmulatorConfig):
            config = AnthropicEmulatorConfig.from_dict(config)
        self._owns_dir = data_dir is None
        self.data_dir = Path(
            tempfile.mkdtemp(prefix="anthropic-emulator-") if data_dir is None else data_dir
        )
        self._host = host
        self._port = port
        self.app = AnthropicEmulatorApp(config, self.data_dir / "batches")
        self._http: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Bind and serve in a daemon thread; returns self."""
        if self._http is not None:
            return self
        self._http = EmulatorHTTPServer((self._host, self._port), self.app)  # type: ignore[arg-type]
        self._port = self._http.server_address[1]
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"anthropic-emulator-{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections and remove the data directory if we made it."""
        http, self._http = self._http, None
        if http is not None:
            http.shutdown()
            http.close_connections()
            http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    @property
    def port(self) -> int:
        """The bound port (known after start when port=0)."""
        return self._port

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give the SDK (scheme, host and port)."""
        return f"http://{self._host}:{self._port}"

    @property
    def config(self) -> AnthropicEmulatorConfig:
        """The settings in force."""
        return self.app.config

    def configure(self, **changes: Any) -> AnthropicEmulatorConfig:
        """Change settings on the running server; returns the new config."""
        return self.app.configure(**changes)

    def ledger(self) -> dict[str, Any]:
        """Every batch ever created, with its custom ids and outcomes, and the faults injected."""
        return self.app.store.ledger()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(
    config: AnthropicEmulatorConfig | Mapping[str, Any] | None = None,
    host: str = "127.0.0.1",
    port: int = 8200,
    data_dir: str | Path | None = None,
) -> None:
    """Run the emulator in the foreground until interrupted (Ctrl-C or SIGTERM)."""
    server = AnthropicEmulatorServer(config, host=host, port=port, data_dir=data_dir).start()
    print(f"Anthropic Message Batches emulator listening on {server.base_url}", flush=True)
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
