"""EmulatorServer: start/stop the loopback HTTP server in a daemon thread; serve_forever for CLIs."""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

from .api import EmulatorApp, ServedApp
from .config import EmulatorConfig
from .handler import EmulatorHTTPServer


class EmulatorServer:
    """An OpenAI-compatible Files + Batch API on loopback, for the real `openai` SDK."""

    DIR_PREFIX: ClassVar[str] = "batch-emulator-"
    app: ServedApp

    def __init__(
        self,
        config: EmulatorConfig | Mapping[str, Any] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | Path | None = None,
    ) -> None:
        if config is None:
            config = EmulatorConfig()
        elif not isinstance(config, EmulatorConfig):
            config = EmulatorConfig.from_dict(config)
        self._owns_dir = data_dir is None
        self.data_dir = Path(
            tempfile.mkdtemp(prefix=self.DIR_PREFIX) if data_dir is None else data_dir
        )
        self._host = host
        self._port = port
        self.app = self._build_app(config, self.data_dir / "files")
        self._http: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _build_app(self, config: EmulatorConfig, directory: Path) -> ServedApp:
        """The app this server serves (other providers' servers answer their own)."""
        return EmulatorApp(config, directory)

    def start(self) -> Self:
        """Bind and serve in a daemon thread; returns self."""
        if self._http is not None:
            return self
        self._http = EmulatorHTTPServer((self._host, self._port), self.app)
        self._port = self._http.server_address[1]
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"batch-emulator-{self._port}",
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
        """The `base_url` to give the SDK, ending in /v1."""
        return f"http://{self._host}:{self._port}/v1"

    @property
    def config(self) -> EmulatorConfig:
        """The settings in force."""
        return self.app.config

    def configure(self, **changes: Any) -> EmulatorConfig:
        """Change settings on the running server; returns the new config."""
        return self.app.configure(**changes)

    def ledger(self) -> dict[str, Any]:
        """Every file and batch ever created, plus the faults injected so far."""
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
    config: EmulatorConfig | Mapping[str, Any] | None = None,
    host: str = "127.0.0.1",
    port: int = 8100,
    data_dir: str | Path | None = None,
) -> None:
    """Run the emulator in the foreground until interrupted (Ctrl-C) or SIGTERM; the handler is
    in place before the server answers, so a SIGTERM right after readiness still stops cleanly."""
    stopped = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    server = EmulatorServer(config, host=host, port=port, data_dir=data_dir).start()
    print(f"batch emulator listening on {server.base_url}", flush=True)
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


class AzureEmulatorServer(EmulatorServer):
    """The same emulator addressed as an Azure OpenAI resource: ``base_url`` is the endpoint the
    ``AzureOpenAI`` client is given (it calls ``/openai/files`` and ``/openai/batches``)."""

    @property
    def base_url(self) -> str:
        """The resource endpoint, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://{self._host}:{self._port}"
