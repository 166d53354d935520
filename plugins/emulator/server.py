"""The loopback server every emulator shares (start/stop in a daemon thread, ``base_url``, the
admin shortcuts, a foreground loop for CLIs), and the OpenAI-compatible emulator's servers."""

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
from .config import ConfigBase, EmulatorConfig
from .handler import EmulatorHTTPServer


class AppServer:
    """Serves one emulator app on loopback, for a provider's real SDK.

    A provider's server names its config class (``CONFIG``), builds its app (``_build_app``) and
    says where its API starts (``URL_PATH``: what ``base_url`` adds after host and port).
    """

    CONFIG: ClassVar[type[ConfigBase]] = ConfigBase
    DIR_PREFIX: ClassVar[str] = "emulator-"
    DATA_NAME: ClassVar[str] = "files"
    URL_PATH: ClassVar[str] = ""
    app: ServedApp

    def __init__(
        self,
        config: ConfigBase | Mapping[str, Any] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | Path | None = None,
    ) -> None:
        settings = config if isinstance(config, ConfigBase) else self.CONFIG.coerce(config)
        if not isinstance(settings, self.CONFIG):
            raise TypeError(f"{type(self).__name__} needs a {self.CONFIG.__name__}, got {config!r}")
        self._owns_dir = data_dir is None
        self.data_dir = Path(
            tempfile.mkdtemp(prefix=self.DIR_PREFIX) if data_dir is None else data_dir
        )
        self._host = host
        self._port = port
        self.app = self._build_app(settings, self.data_dir / self.DATA_NAME)
        self._http: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _build_app(self, config: Any, directory: Path) -> ServedApp:
        """The app this server serves, on ``config`` (an instance of ``CONFIG``)."""
        raise NotImplementedError

    def start(self) -> Self:
        """Bind and serve in a daemon thread; returns self."""
        if self._http is not None:
            return self
        self._http = EmulatorHTTPServer((self._host, self._port), self.app)
        self._port = self._http.server_address[1]
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"{self.DIR_PREFIX}{self._port}",
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
        """The base URL to give the SDK: scheme, host, port and ``URL_PATH``."""
        return f"http://{self._host}:{self._port}{self.URL_PATH}"

    @property
    def config(self) -> Any:
        """The settings in force (a ``CONFIG``)."""
        return self.app.config

    def configure(self, **changes: Any) -> Any:
        """Change settings on the running server; returns the new config."""
        return self.app.configure(**changes)

    def ledger(self) -> dict[str, Any]:
        """Everything the emulator ever made, plus the faults injected so far."""
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


def run_in_foreground(server: AppServer, what: str) -> None:
    """Serve until interrupted (Ctrl-C) or SIGTERM; the handler is in place before the server
    answers, so a SIGTERM right after readiness still stops cleanly."""
    stopped = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    server.start()
    print(f"{what} listening on {server.base_url}", flush=True)
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


class EmulatorServer(AppServer):
    """An OpenAI-compatible Files + Batch API on loopback, for the real `openai` SDK
    (``base_url`` ends in ``/v1``)."""

    CONFIG: ClassVar[type[ConfigBase]] = EmulatorConfig
    DIR_PREFIX: ClassVar[str] = "batch-emulator-"
    URL_PATH: ClassVar[str] = "/v1"

    app: EmulatorApp

    def _build_app(self, config: EmulatorConfig, directory: Path) -> EmulatorApp:
        """The OpenAI-compatible app."""
        return EmulatorApp(config, directory)

    @property
    def config(self) -> EmulatorConfig:
        """The settings in force."""
        return self.app.config


def serve_forever(
    config: EmulatorConfig | Mapping[str, Any] | None = None,
    host: str = "127.0.0.1",
    port: int = 8100,
    data_dir: str | Path | None = None,
) -> None:
    """Run the emulator in the foreground until interrupted (Ctrl-C) or SIGTERM."""
    server = EmulatorServer(config, host=host, port=port, data_dir=data_dir)
    run_in_foreground(server, "batch emulator")


class AzureEmulatorServer(EmulatorServer):
    """The same emulator addressed as an Azure OpenAI resource: ``base_url`` is the endpoint the
    ``AzureOpenAI`` client is given (it calls ``/openai/files`` and ``/openai/batches``), e.g.
    ``http://127.0.0.1:PORT``."""

    URL_PATH: ClassVar[str] = ""
