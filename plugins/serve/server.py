"""The HTTP server: stdlib ``ThreadingHTTPServer`` in a background thread, adapting to the app."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from plugins.serve.app import MonitoringApp

log = logging.getLogger("batchkernel.serve")


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the app; logs paths at debug level only (never headers)."""

    server_version = "batchkernel"
    sys_version = ""
    app: MonitoringApp

    def _answer(self, method: str) -> None:
        """Ask the app and write its response (no body for HEAD)."""
        headers = {key.lower(): value for key, value in self.headers.items()}
        response = self.app.handle(method, self.path, headers)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(response.body)

    def do_GET(self) -> None:
        """GET."""
        self._answer("GET")

    def do_HEAD(self) -> None:
        """HEAD."""
        self._answer("HEAD")

    def _refuse(self) -> None:
        """Any other method: the app answers 405."""
        self._answer(self.command)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def log_message(self, format: str, *args: Any) -> None:
        """Request lines at debug level (paths only; tokens never travel in URLs)."""
        log.debug("%s %s", self.address_string(), format % args)


class MonitoringServer:
    """A running server: ``url``, ``wait()`` and ``stop()``."""

    def __init__(self, app: MonitoringApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("Handler", (_Handler,), {"app": app})
        self.app = app
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        bound_host, bound_port = self.httpd.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._stopped = threading.Event()

    def start(self) -> MonitoringServer:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def wait(self) -> None:
        """Block until ``stop`` (or Ctrl-C)."""
        while not self._stopped.wait(0.5):
            pass

    def stop(self) -> None:
        """Stop serving, free the port and the database pool."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.app.close()
        self._stopped.set()

    def __enter__(self) -> MonitoringServer:
        """Use as a context manager that stops the server on exit."""
        return self

    def __exit__(self, *_exc: object) -> None:
        """Stop the server."""
        self.stop()
