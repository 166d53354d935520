"""HTTP plumbing: read request bodies (length or chunked), write JSON or streamed files, drop."""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from . import ids
from .api import Request, Response, ServedApp
from .errors import ApiError, error_body

log = logging.getLogger(__name__)

CHUNK = 1 << 16


def content_length(headers: Any) -> int:
    """The declared body length; anything but one non-negative decimal number is a 400."""
    values = headers.get_all("Content-Length") or []
    if not values:
        return 0
    raw = values[0].strip()
    if len(values) > 1 or not raw.isascii() or not raw.isdigit():
        raise ApiError(400, "Invalid Content-Length header: expected one non-negative integer.")
    return int(raw)


class RequestBody:
    """The body of one request, read lazily from the socket exactly once."""

    def __init__(self, rfile: BufferedIOBase, headers: Any) -> None:
        self._rfile = rfile
        self._chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        self._remaining = 0 if self._chunked else content_length(headers)
        self.exhausted = not self._chunked and self._remaining == 0
        self._started = False

    def chunks(self) -> Iterator[bytes]:
        """Yield the body in pieces of at most CHUNK bytes."""
        if self.exhausted:
            return
        if self._chunked and self._started:
            raise ValueError("a partly read chunked body cannot be resumed")
        self._started = True
        if self._chunked:
            yield from self._chunked_pieces()
        else:
            while self._remaining > 0:
                data = self._rfile.read(min(CHUNK, self._remaining))
                if not data:
                    raise ConnectionError("client closed the connection mid-body")
                self._remaining -= len(data)
                yield data
        self.exhausted = True

    def _chunked_pieces(self) -> Iterator[bytes]:
        """Decode Transfer-Encoding: chunked."""
        while True:
            size_line = self._rfile.readline(1024)
            if not size_line:
                raise ConnectionError("client closed the connection mid-body")
            try:
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                raise ApiError(400, "Invalid chunk size in a chunked request body.") from None
            if size == 0:
                while self._rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return
            left = size
            while left > 0:
                data = self._rfile.read(min(CHUNK, left))
                if not data:
                    raise ConnectionError("client closed the connection mid-body")
                left -= len(data)
                yield data
            self._rfile.readline(16)

    def read_all(self, limit: int) -> bytes:
        """The whole body; more than `limit` bytes is a 413."""
        parts = bytearray()
        for data in self.chunks():
            parts += data
            if len(parts) > limit:
                raise ApiError(413, "The request body is too large.")
        return bytes(parts)

    def drain(self) -> None:
        """Discard whatever the handler did not read, so the connection can be reused."""
        for _ in self.chunks():
            pass


class EmulatorHandler(BaseHTTPRequestHandler):
    """One connection; keep-alive HTTP/1.1; every response carries x-request-id."""

    protocol_version = "HTTP/1.1"
    timeout = 120
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def do_GET(self) -> None:
        """Serve GET."""
        self._dispatch()

    def do_POST(self) -> None:
        """Serve POST."""
        self._dispatch()

    def do_DELETE(self) -> None:
        """Serve DELETE."""
        self._dispatch()

    def do_PUT(self) -> None:
        """Serve PUT (always an unknown route)."""
        self._dispatch()

    def do_PATCH(self) -> None:
        """Serve PATCH (always an unknown route)."""
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Route access logs to logging at debug level instead of stderr."""
        log.debug("%s - %s", self.address_string(), format % args)

    def _dispatch(self) -> None:
        """Parse, hand to the app, then answer, delay or drop as the app decided."""
        request_id = ids.request_id()
        split = urlsplit(self.path)
        try:
            body = RequestBody(self.rfile, self.headers)
        except ApiError as exc:
            # The body's length is unknown: answer, then close (the stream cannot be resumed).
            self.close_connection = True
            response = Response(status=exc.status, json=exc.body(), headers={"Connection": "close"})
            with contextlib.suppress(ConnectionError, TimeoutError, OSError):
                self._send(response, request_id)
            return
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query),
            headers=self.headers,
            body=body,
            request_id=request_id,
        )
        try:
            response = self.server.app.handle(request)
        except ApiError as exc:
            response = Response(status=exc.status, json=exc.body(), headers=exc.headers)
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True
            return
        except Exception:
            log.exception("emulator: unhandled error on %s %s", self.command, self.path)
            response = Response(
                status=500, json=error_body("Internal emulator error.", "server_error")
            )
        try:
            body.drain()
        except ApiError as exc:
            self._close_stream(response)
            response = Response(status=exc.status, json=exc.body())
            response.headers["Connection"] = "close"
        except ValueError:
            response.headers["Connection"] = "close"  # a partly read chunked body: answer, close
        except (ConnectionError, TimeoutError, OSError):
            self._close_stream(response)
            self.close_connection = True
            return
        if response.drop:
            self._close_stream(response)
            self._drop()
            return
        if response.delay > 0:
            time.sleep(response.delay)
        try:
            self._send(response, request_id)
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True
        finally:
            self._close_stream(response)

    def _send(self, response: Response, request_id: str) -> None:
        """Write status, headers and a JSON body or the streamed file."""
        payload = b"" if response.stream is not None else orjson.dumps(response.json)
        length = response.length if response.stream is not None else len(payload)
        self.send_response(response.status)
        headers = {"Content-Type": "application/json", **response.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length))
        self.send_header("x-request-id", request_id)
        self.end_headers()
        if response.stream is not None:
            shutil.copyfileobj(response.stream, self.wfile, CHUNK * 16)
        else:
            self.wfile.write(payload)
        self.wfile.flush()

    def _drop(self) -> None:
        """Close the socket without answering."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _close_stream(response: Response) -> None:
        """Close a file handle the response may hold."""
        if response.stream is not None:
            response.stream.close()


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Threaded server (daemon threads) that can cut every open connection on stop."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: ServedApp) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, EmulatorHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Track the connection, then serve it in a daemon thread."""
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget and close a finished connection."""
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open connection so no handler thread lingers."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
