"""The HTTP server: Hypercorn (asyncio) on a background thread, serving the ASGI app.

Why Hypercorn: its keep-alive timer starts when a connection opens or an answer ends and stops
only when a request's headers are complete, so a client that trickles header bytes is cut off
after ``serve.keep_alive_seconds`` however often it sends; uvicorn resets its timer on every
byte and Granian's concurrency limit counts idle connections (docs/security.md has the
measurements). Connections cost a coroutine, not a thread, and the listening socket has a normal
backlog, so hundreds of idle or slow connections leave ``/healthz`` answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from hypercorn.asyncio import serve
from hypercorn.config import Config, Sockets

from plugins.serve.app import MonitoringApp
from plugins.serve.asgi import asgi_app

if TYPE_CHECKING:
    from hypercorn.typing import ASGIFramework

log = logging.getLogger("batchkernel.serve")
MAX_HEADER_BYTES = 16 * 1024
OUT_OF_FILES_EVERY = 60.0


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Timeouts and limits of the HTTP server (``serve.*`` settings)."""

    keep_alive_seconds: float
    read_timeout_seconds: float
    max_concurrent_requests: int
    backlog: int
    shutdown_seconds: float

    @classmethod
    def from_settings(cls, settings: Any) -> ServerLimits:
        """Read the ``serve`` section (declared, so every key is present and valid)."""
        section = settings.serve
        return cls(
            keep_alive_seconds=float(section.keep_alive_seconds),
            read_timeout_seconds=float(section.read_timeout_seconds),
            max_concurrent_requests=int(section.max_concurrent_requests),
            backlog=int(section.backlog),
            shutdown_seconds=float(section.shutdown_seconds),
        )


class _BoundConfig(Config):
    """A Hypercorn config that serves an already bound socket (so port 0 can be reported)."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._socket = sock

    def create_sockets(self) -> Sockets:
        """The socket bound by :class:`MonitoringServer`."""
        return Sockets(secure_sockets=[], insecure_sockets=[self._socket], quic_sockets=[])


def _config(sock: socket.socket, limits: ServerLimits) -> Config:
    """Hypercorn settings: timeouts, backlog, header size; no server header, our logger."""
    config = _BoundConfig(sock)
    config.keep_alive_timeout = limits.keep_alive_seconds
    config.read_timeout = limits.read_timeout_seconds  # type: ignore[assignment]
    config.backlog = limits.backlog
    config.graceful_timeout = limits.shutdown_seconds
    config.h11_max_incomplete_size = MAX_HEADER_BYTES
    config.include_server_header = False
    config.accesslog = None
    config.errorlog = log
    return config


def _listen(host: str, port: int, backlog: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv6 when the host has a colon)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=backlog)


class _LoopErrors:
    """Event-loop error handler: one warning a minute when accept() runs out of descriptors.

    asyncio logs a traceback for every failed accept (up to the backlog per retry, every
    second): thousands of lines a second while the process is at its open-file limit. New
    connections wait in the listen queue meanwhile and are taken as idle ones are closed.
    Connections still open when the server stops are cancelled; that is not an error either.
    """

    def __init__(self) -> None:
        self.last = -OUT_OF_FILES_EVERY
        self.dropped = 0

    def handle(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Rate-limit the out-of-resource message, drop connections cancelled by a stop, pass
        everything else to asyncio."""
        if isinstance(context.get("exception"), asyncio.CancelledError):
            return
        if context.get("message") != "socket.accept() out of system resource":
            loop.default_exception_handler(context)
            return
        now = time.monotonic()
        if now - self.last < OUT_OF_FILES_EVERY:
            self.dropped += 1
            return
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        log.warning(
            "accepting connections failed: %s (open-file limit %d; %d more such failures since "
            "the last warning); new connections wait until idle ones are closed: raise the "
            "limit (ulimit -n) or lower serve.keep_alive_seconds",
            context.get("exception"),
            soft,
            self.dropped,
        )
        self.last, self.dropped = now, 0


class MonitoringServer:
    """A running server: ``url``, ``wait()`` and ``stop()``."""

    def __init__(
        self,
        app: MonitoringApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: ServerLimits,
    ) -> None:
        self.app = app
        self.limits = limits
        self._socket = _listen(host, port, self.limits.backlog)
        bound_host, bound_port = self._socket.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{shown}:{bound_port}"
        self._asgi = asgi_app(app, max_concurrent=self.limits.max_concurrent_requests)
        self._config = _config(self._socket, self.limits)
        self._thread = threading.Thread(target=self._run, name="batchkernel-serve", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._shutdown: asyncio.Event | None = None
        self._started = threading.Event()
        self._stopped = threading.Event()
        self._stop_lock = threading.Lock()

    def _run(self) -> None:
        """The server thread: an event loop running Hypercorn until ``stop``."""
        try:
            asyncio.run(self._main())
        except Exception:
            log.exception("the monitoring server stopped with an error")
        finally:
            self._started.set()

    async def _main(self) -> None:
        """Serve until the shutdown event is set."""
        self._loop = asyncio.get_running_loop()
        self._loop.set_exception_handler(_LoopErrors().handle)
        self._shutdown = asyncio.Event()
        self._started.set()
        # Starlette's and Hypercorn's ASGI types describe the same protocol in different words.
        app = cast("ASGIFramework", self._asgi)
        await serve(app, self._config, shutdown_trigger=self._shutdown.wait, mode="asgi")

    def start(self) -> MonitoringServer:
        """Serve in a background thread (connections queue in the backlog until it runs)."""
        self._thread.start()
        self._started.wait()
        return self

    def wait(self) -> None:
        """Block until ``stop`` (or Ctrl-C)."""
        while not self._stopped.wait(0.5):
            pass

    def stop(self) -> None:
        """Stop accepting, close connections, free the port and the database pool (idempotent)."""
        if not self._stop_lock.acquire(blocking=False):
            return
        try:
            if self._stopped.is_set():
                return
            loop, shutdown = self._loop, self._shutdown
            if loop is not None and shutdown is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(shutdown.set)
            if self._thread.is_alive():
                self._thread.join(self.limits.shutdown_seconds + 10)
            self._socket.close()
            self.app.close()
            self._stopped.set()
        finally:
            self._stop_lock.release()

    def __enter__(self) -> MonitoringServer:
        """Use as a context manager that stops the server on exit."""
        return self

    def __exit__(self, *_exc: object) -> None:
        """Stop the server."""
        self.stop()
