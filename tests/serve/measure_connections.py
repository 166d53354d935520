"""Measure ``batchkernel serve`` under hostile connections; the figures go into docs/security.md.

    python -m tests.serve.measure_connections [--nofile 256] [--hold 300]

Starts ``batchkernel serve --port 0`` in a child process (optionally with its open-file limit
set to ``--nofile``) on a fresh SQLite database, then: holds ``--hold`` idle connections and
five trickling ones (one header byte every 2 s) and times ``/healthz`` while they are held,
notes the server's CPU time over that period, how long the idle and trickling connections
stay open (up to ``--wait`` seconds), and opens a burst of ``--hold`` connections at once,
counting those that had to resend their SYN (the 1-second stall of a full listen queue).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import selectors
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

TOKEN = "measure-token-0123456789abcdef"
TCP_INFO_TOTAL_RETRANS = 100


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _healthz(url: str) -> float | None:
    """Seconds for one /healthz on a new connection, None if it failed or took over 20 s."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=20) as answer:
            answer.read()
    except OSError:
        return None
    return time.perf_counter() - started


def _open_for(sock: socket.socket, limit: float) -> float:
    """Seconds until the server closes ``sock`` (or ``limit`` if it never does)."""
    started = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return limit
    except OSError:
        pass
    return time.monotonic() - started


def _trickle(address: tuple[str, int], limit: float, out: list[float]) -> None:
    """Send header bytes every 2 s until the server hangs up; record how long that took (nothing
    if the connection could not even be opened)."""
    try:
        sock = socket.create_connection(address, timeout=10)
    except OSError:
        return
    sock.setblocking(False)
    started = time.monotonic()
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
    for byte in request:
        if time.monotonic() - started > limit:
            break
        try:
            sock.send(bytes([byte]))
            if sock.recv(4096) == b"":
                break
        except BlockingIOError:
            pass
        except OSError:
            break
        time.sleep(2)
    out.append(time.monotonic() - started)
    sock.close()


def _burst(address: tuple[str, int], count: int, limit: float) -> dict[str, Any]:
    """Open ``count`` connections at once; how long, and how many resent their SYN."""
    selector = selectors.DefaultSelector()
    socks = []
    started = time.perf_counter()
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(address)
        selector.register(sock, selectors.EVENT_WRITE)
        socks.append(sock)
    pending = len(socks)
    while pending and time.perf_counter() - started < limit:
        for key, _ in selector.select(timeout=1):
            selector.unregister(key.fileobj)
            pending -= 1
    seconds = time.perf_counter() - started
    resent = 0
    for sock in socks:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        resent += struct.unpack_from("I", info, TCP_INFO_TOTAL_RETRANS)[0] > 0
        sock.close()
    selector.close()
    return {"connections": count, "seconds": round(seconds, 3), "resent_syn": resent}


def main() -> None:
    """Start the server, measure, print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--hold", type=int, default=300)
    parser.add_argument("--nofile", type=int, default=0)
    parser.add_argument("--wait", type=float, default=90.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bk-measure-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHKERNEL_")}
    env |= {
        "BATCHKERNEL_DATABASE__URL": f"sqlite:///{work / 'm.db'}",
        "BATCHKERNEL_SERVE__TOKENS": "@json " + json.dumps([TOKEN]),
        "BATCHKERNEL_PLUGINS__AUTOLOAD": "false",
        "BATCHKERNEL_BATCH__WORKDIR": str(work),
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "kernel"]
    subprocess.run([*command, "db", "upgrade"], env=env, check=True, capture_output=True)

    def limit() -> None:
        if args.nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, args.nofile))

    log = work / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [*command, "serve", "--port", "0"],
            env=env,
            stderr=sink,
            stdout=subprocess.DEVNULL,
            preexec_fn=limit,
        )
    out: dict[str, Any] = {"hold": args.hold, "nofile": args.nofile or "unchanged"}
    try:
        while "serving http" not in log.read_text():
            time.sleep(0.1)
        url = log.read_text().split("serving ", 1)[1].split()[0].rstrip("/")
        host, port = url.removeprefix("http://").rsplit(":", 1)
        address = (host, int(port))
        _healthz(url)
        idle = []
        for _ in range(args.hold):
            try:
                idle.append(socket.create_connection(address, timeout=5))
            except OSError:
                break
        trickled: list[float] = []
        tricklers = [
            threading.Thread(target=_trickle, args=(address, args.wait, trickled)) for _ in range(5)
        ]
        for thread in tricklers:
            thread.start()
        cpu = _cpu_seconds(server.pid)
        started = time.monotonic()
        times = [_healthz(url) for _ in range(20)]
        answered = [t for t in times if t is not None]
        out["healthz_under_hold"] = {
            "answered": f"{len(answered)} of {len(times)}",
            "median_ms": round(statistics.median(answered) * 1000, 1) if answered else None,
            "max_ms": round(max(answered) * 1000, 1) if answered else None,
        }
        with ThreadPoolExecutor(20) as pool:
            waits = list(pool.map(lambda sock: _open_for(sock, args.wait), idle[:20]))
        out["idle_open_seconds"] = round(max(waits), 1) if waits else None
        for thread in tricklers:
            thread.join()
        out["trickler_open_seconds"] = round(max(trickled), 1) if trickled else None
        out["tricklers_connected"] = len(trickled)
        elapsed = time.monotonic() - started
        out["server_cpu_share_while_held"] = round((_cpu_seconds(server.pid) - cpu) / elapsed, 3)
        for sock in idle:
            sock.close()
        time.sleep(1)
        out["burst"] = _burst(address, args.hold, args.wait)
        text = log.read_text()
        out["server_log"] = {"bytes": len(text), "out_of_files_errors": text.count("EMFILE")}
    finally:
        server.terminate()
        server.wait(30)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
