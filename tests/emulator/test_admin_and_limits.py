"""The emulator's admin surface needs its key and never echoes it; hostile requests get a 4xx."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest

from plugins.emulator import EmulatorServer
from plugins.emulator.upload import MAX_FIELD_BYTES, MAX_PARTS

KEY = "sk-emulator-LEAKY-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def keyed() -> Iterator[EmulatorServer]:
    """An emulator that requires an API key."""
    with EmulatorServer({"api_key": KEY}) as server:
        yield server


def _admin(
    server: EmulatorServer,
    path: str,
    payload: dict[str, Any] | None = None,
    key: str | None = None,
) -> tuple[int, bytes]:
    """GET (or POST ``payload`` to) an admin route; returns the status and the raw body."""
    url = server.base_url.removesuffix("/v1") + path
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    data = orjson.dumps(payload) if payload is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _raw(server: EmulatorServer, request: bytes) -> bytes:
    """Send raw bytes on a fresh connection and read the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_config_needs_the_key_and_never_shows_it(keyed: EmulatorServer) -> None:
    for key in (None, "sk-wrong-key-000000"):
        status, body = _admin(keyed, "/_emulator/config", key=key)
        assert status == 401 and KEY.encode() not in body
    status, body = _admin(keyed, "/_emulator/config", key=KEY)
    assert status == 200 and KEY.encode() not in body
    assert orjson.loads(body)["api_key"] == "***"
    for route in ("/_emulator/ledger", "/_emulator/health"):
        status, body = _admin(keyed, route)
        assert status == 200 and KEY.encode() not in body


def test_config_cannot_be_changed_without_the_key(keyed: EmulatorServer) -> None:
    status, _ = _admin(keyed, "/_emulator/config", {"api_key": None})
    assert status == 401
    assert keyed.config.api_key == KEY
    with (
        openai.OpenAI(base_url=keyed.base_url, api_key="sk-guess", max_retries=0) as sdk,
        pytest.raises(openai.AuthenticationError),
    ):
        sdk.files.list()

    status, body = _admin(keyed, "/_emulator/config", {"rate_500": 0.5}, key=KEY)
    assert status == 200 and KEY.encode() not in body
    assert keyed.config.rate_500 == 0.5
    shown = orjson.loads(_admin(keyed, "/_emulator/config", key=KEY)[1])
    status, _ = _admin(keyed, "/_emulator/config", shown | {"rate_500": 0}, key=KEY)
    assert status == 200 and keyed.config.api_key == KEY, "a GET answer posted back keeps the key"


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "12, 12"])
def test_invalid_content_length_is_a_400(
    server: EmulatorServer, length: str, capfd: pytest.CaptureFixture[str]
) -> None:
    answer = _raw(
        server,
        f"POST /v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
        f"Content-Length: {length}\r\n\r\n{{}}".encode(),
    )
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"Content-Length" in answer.split(b"\r\n\r\n", 1)[1]
    assert "Traceback" not in capfd.readouterr().err
    assert _admin(server, "/_emulator/health")[0] == 200


def test_invalid_chunk_size_is_a_400(server: EmulatorServer) -> None:
    answer = _raw(
        server,
        b"POST /v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n"
        b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 400 ")


def _form(parts: list[tuple[str, bytes]], boundary: str = "bk-boundary") -> bytes:
    """A multipart/form-data body of text fields."""
    out = bytearray()
    for name, value in parts:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def _post_form(port: int, body: bytes | Iterator[bytes], length: int) -> tuple[int, bytes]:
    """POST a multipart body to /v1/files over a real connection; status and body of the answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(
            "POST",
            "/v1/files",
            body=body,
            headers={
                "Authorization": "Bearer t",
                "Content-Type": "multipart/form-data; boundary=bk-boundary",
                "Content-Length": str(length),
            },
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_too_many_form_fields_is_a_400(server: EmulatorServer) -> None:
    body = _form([(f"f{i}", b"x") for i in range(MAX_PARTS + 1)])
    status, answer = _post_form(server.port, body, len(body))
    assert status == 400 and b"Too many parts" in answer


def test_an_oversized_form_field_is_a_413(server: EmulatorServer) -> None:
    body = _form([("purpose", b"b" * (MAX_FIELD_BYTES + 1))])
    status, _ = _post_form(server.port, body, len(body))
    assert status == 413


def _memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def test_a_flood_of_form_fields_does_not_grow_the_emulator() -> None:
    """4,096 fields of 64 KB (256 MB): refused at the first oversized field, memory stays flat."""
    fields, size = 4096, 64 * 1024
    value = b"v" * size
    head = [
        f'--bk-boundary\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\n'
        for i in range(fields)
    ]
    length = sum(len(h) + size + 2 for h in head) + len(b"--bk-boundary--\r\n")

    def stream() -> Iterator[bytes]:
        for part in head:
            yield part.encode() + value + b"\r\n"
        yield b"--bk-boundary--\r\n"

    with subprocess.Popen(
        [sys.executable, "-m", "plugins.emulator", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as process:
        try:
            assert process.stdout is not None
            banner = process.stdout.readline()
            port = int(banner.rsplit(":", 1)[1].split("/")[0])
            _post_form(port, iter([b"--bk-boundary--\r\n"]), 17)  # warm up the upload path
            before = _memory_kib(process.pid)
            status, answer = _post_form(port, stream(), length)
            after = _memory_kib(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert status in (400, 413), answer
    growth_mib = (after["VmHWM"] - before["VmRSS"]) / 1024
    assert growth_mib < 32, f"peak memory grew {growth_mib:.0f} MiB"
