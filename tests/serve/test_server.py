"""The HTTP server under hostile clients: idle and trickling connections, bursts, bodies, limits,
and a clean stop of ``batchkernel serve`` on SIGTERM and Ctrl-C."""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plugins.serve import start_server
from tests.serve.conftest import TOKEN, get
from tests.support.forkserver import run_cli

HOLD = 300
TRICKLERS = 5
EOF_WAIT = 90.0  # generous: the server cuts these after serve.keep_alive_seconds
TCP_INFO_TOTAL_RETRANS = 100  # offset of tcpi_total_retrans in Linux's struct tcp_info


@pytest.fixture
def server(make_kernel: Any, sqlite_url: str) -> Iterator[Any]:
    """A monitoring server with a 3-second keep-alive and request deadline."""
    kernel = make_kernel(sqlite_url, serve__tokens=[TOKEN], serve__keep_alive_seconds=3)
    handle = start_server(kernel, "127.0.0.1", 0)
    yield handle
    handle.stop()


def _address(url: str) -> tuple[str, int]:
    """Host and port of a server URL."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


class Trickler(threading.Thread):
    """Sends a request's headers one byte every half second until the server hangs up."""

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(address, timeout=10)
        self.cut = threading.Event()
        self.answer = b""
        self.stop = threading.Event()

    def run(self) -> None:
        """Trickle; note the server closing the connection (EOF or a reset)."""
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4000
        self.sock.setblocking(False)
        for byte in request:
            try:
                self.sock.send(bytes([byte]))
                data = self.sock.recv(4096)
            except BlockingIOError:
                data = None
            except OSError:
                break
            if data is not None:
                self.answer += data
                if data == b"":
                    break
            if self.stop.wait(0.5):
                return
        self.cut.set()


def _closed_by_server(sock: socket.socket, timeout: float) -> bool:
    """Wait until the peer closes ``sock`` (EOF or reset); False if it is still open."""
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


def test_idle_and_trickling_connections_leave_healthz_answering_and_are_cut(server: Any) -> None:
    address = _address(server.url)
    idle = [socket.create_connection(address, timeout=10) for _ in range(HOLD)]
    tricklers = [Trickler(address) for _ in range(TRICKLERS)]
    for trickler in tricklers:
        trickler.start()
    try:
        for _ in range(20):
            status, _, body = get(server.url + "/healthz")
            assert status == 200 and json.loads(body) == {"status": "ok"}
        for trickler in tricklers:
            assert trickler.cut.wait(EOF_WAIT), "a trickling client was never cut off"
            assert b"200" not in trickler.answer
        assert all(_closed_by_server(sock, EOF_WAIT) for sock in idle)
        assert get(server.url + "/healthz")[0] == 200
    finally:
        for trickler in tricklers:
            trickler.stop.set()
            trickler.sock.close()
        for sock in idle:
            sock.close()


def test_a_burst_of_connections_needs_no_retransmitted_syn(server: Any) -> None:
    """A full listen queue drops SYNs and the client waits a second to resend: none may."""
    address = _address(server.url)
    burst = []
    selector = selectors.DefaultSelector()
    for _ in range(HOLD):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(address)
        selector.register(sock, selectors.EVENT_WRITE)
        burst.append(sock)
    try:
        pending = set(burst)
        while pending:
            ready = selector.select(timeout=EOF_WAIT)
            assert ready, f"{len(pending)} connections never completed"
            for key, _ in ready:
                selector.unregister(key.fileobj)
                pending.discard(key.fileobj)
        resent = []
        for sock in burst:
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
            info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
            resent.append(struct.unpack_from("I", info, TCP_INFO_TOTAL_RETRANS)[0])
        assert sum(resent) == 0, f"{sum(1 for n in resent if n)} connections resent their SYN"
        assert get(server.url + "/healthz")[0] == 200
    finally:
        selector.close()
        for sock in burst:
            sock.close()


def test_a_request_body_is_refused_unread_and_the_connection_closed(server: Any) -> None:
    sock = socket.create_connection(_address(server.url), timeout=30)
    try:
        sock.sendall(
            b"GET /api/batch-monitoring HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nab"
        )
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"no body" in answer


def test_requests_beyond_the_concurrency_limit_get_503_and_healthz_still_answers(
    make_kernel: Any, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kernel = make_kernel(sqlite_url, serve__tokens=[TOKEN], serve__max_concurrent_requests=2)
    handle = start_server(kernel, "127.0.0.1", 0)
    release = threading.Event()
    entered = threading.Semaphore(0)
    original = handle.app.handle

    def slow(method: str, target: str, headers: Any) -> Any:
        if target.startswith("/readyz"):
            entered.release()
            release.wait(EOF_WAIT)
        return original(method, target, headers)

    monkeypatch.setattr(handle.app, "handle", slow)
    results: list[int] = []
    busy = [
        threading.Thread(target=lambda: results.append(get(handle.url + "/readyz")[0]))
        for _ in range(2)
    ]
    try:
        for thread in busy:
            thread.start()
        for _ in busy:
            assert entered.acquire(timeout=EOF_WAIT)
        status, headers, _ = get(handle.url + "/api/batch-monitoring", TOKEN)
        assert status == 503 and headers["retry-after"] == "1"
        assert get(handle.url + "/healthz")[0] == 200
    finally:
        release.set()
        for thread in busy:
            thread.join(EOF_WAIT)
        handle.stop()
    assert results == [200, 200]


def test_head_sends_headers_only(server: Any) -> None:
    status, headers, body = get(server.url + "/healthz", method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_command_stops_cleanly(tmp_path: Path, sqlite_url: str, stop: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHKERNEL_")}
    env |= {
        "BATCHKERNEL_DATABASE__URL": sqlite_url,
        "BATCHKERNEL_SERVE__TOKENS": "@json " + json.dumps([TOKEN]),
        "BATCHKERNEL_PLUGINS__AUTOLOAD": "false",
        "BATCHKERNEL_BATCH__WORKDIR": str(tmp_path / "work"),
        "COLUMNS": "200",
        "PYTHONUNBUFFERED": "1",
    }
    assert run_cli(["db", "upgrade"], env=env).returncode == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "kernel", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stderr, selectors.EVENT_READ)
            assert selector.select(timeout=EOF_WAIT), "serve printed no address"
        line = process.stderr.readline()
        while line and not line.startswith("serving http://"):
            line = process.stderr.readline()  # log lines (timestamped) may come first
        assert line.startswith("serving http://"), line
        url = line.split()[1].rstrip("/")
        idle = socket.create_connection(_address(url), timeout=10)
        assert get(url + "/healthz")[0] == 200
        process.send_signal(stop)
        _, err = process.communicate(timeout=EOF_WAIT)
        idle.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Traceback" not in err


def test_settings_reject_a_keep_alive_beyond_a_minute(make_kernel: Any, sqlite_url: str) -> None:
    with pytest.raises(Exception, match=r"serve\.keep_alive_seconds"):
        make_kernel(sqlite_url, migrate=False, serve__keep_alive_seconds=600)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_every_other_method_gets_the_apps_405(server: Any, method: str) -> None:
    status, headers, body = get(server.url + "/api/batch-monitoring", TOKEN, method=method)
    assert status == 405 and headers["allow"] == "GET, HEAD"
    assert "not allowed" in json.loads(body)["error"]
