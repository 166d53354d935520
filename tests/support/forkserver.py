"""``python -m kernel`` for tests without paying for its imports: ``run_cli`` has the shape of
``subprocess.run`` and runs the command in a child forked from a zygote (tests.support.zygote)
that imported the command line, the kernel, the plugins and their libraries once per worker.

The child is a real process: its own pid, environment (replaced whole), working directory,
``sys.path`` (the request's ``PYTHONPATH`` first), stdin/stdout/stderr, exit status, signal
dispositions of a new interpreter; a timeout kills it. The zygote starts as a new interpreter
(``python -m tests.support.forkserver``), not a fork of the pytest worker, whose threads,
warning filters, captured streams and fixtures a child must not inherit. It imports modules and
calls nothing, so no cache holds settings, a directory or a path; it reports the environment
variables its imports read, and a request whose environment differs in one of them, or in a
variable the interpreter reads at start (``PYTHON*``, locale, ``TZ``), runs as a real subprocess.

Tests that stay real subprocesses, because the process itself is what they check:

- the fast-start tests (``test_commands.py``, ``settings/test_declarations.py``) and the
  tokenizer test (``tasks/test_tasks.py``) read ``sys.modules`` after a start: a forked child
  has everything imported already;
- the installed console script (``test_commands.py``: help, a third-party command through its
  entry point, broken settings) is the subject there, and ``python -m kernel`` without the
  package installed (``test_cli.py``) patches the running process;
- tests that signal a running command or read its output while it runs (``subprocess.Popen``:
  SIGTERM, SIGINT and SIGKILL of a scheduler, database disconnects, concurrent imports behind a
  barrier, the ``serve`` and ``emulator`` commands): they hold the process while it runs;
- the install from a built wheel (``deploy/test_install.py``): another interpreter altogether.
"""

from __future__ import annotations

import locale
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.support import zygote

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 120
INTERPRETER_VARIABLES = ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ")
"""Read when an interpreter starts, as are ``PYTHON*`` (``PYTHONPATH`` is applied per child)."""

Input = str | bytes | Path | None


def run_cli(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | Path | None = None,
    input: Input = None,
    timeout: float = 180,
    module: str = "kernel",
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run([python, "-m", module, *args], capture_output=True, text=True)``, forked
    from the zygote when it can be; stdin is ``input`` (text, bytes or a file), else empty."""
    argv = [sys.executable, "-m", module, *args]
    env = dict(env)
    server = _current()
    directory = Path(cwd or os.getcwd()).resolve()
    if not (server.serves(env) and directory.is_dir()):  # subprocess raises for a bad cwd
        return _run_real(argv, env=env, cwd=cwd, input=input, timeout=timeout)
    status, out, err = server.run(argv, module, list(args), env, str(directory), input, timeout)
    return subprocess.CompletedProcess(argv, status, _text(out), _text(err))


def stop() -> None:
    """Stop this process's zygote (and whatever it still runs), if one was started."""
    global _server
    with _lock:
        if _server is not None and _server.owner == os.getpid():
            _server.stop()
        _server = None


def _run_real(
    argv: list[str], *, env: dict[str, str], cwd: str | Path | None, input: Input, timeout: float
) -> subprocess.CompletedProcess[str]:
    """The same run as a real subprocess (what the zygote cannot stand in for)."""
    data = input.read_bytes() if isinstance(input, Path) else input
    done = subprocess.run(
        argv,
        env=env,
        cwd=cwd,
        input=data.encode() if isinstance(data, str) else data,
        stdin=subprocess.DEVNULL if data is None else None,
        capture_output=True,
        timeout=timeout,
    )
    return subprocess.CompletedProcess(
        argv, done.returncode, _text(done.stdout), _text(done.stderr)
    )


def _text(data: bytes) -> str:
    """Decoded like ``subprocess.run(text=True)``: locale encoding, universal newlines."""
    text = data.decode(locale.getpreferredencoding(False))
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass
class Zygote:
    """A running zygote: its process, the control socket, and what its start depended on."""

    process: subprocess.Popen[bytes]
    control: socket.socket
    log: IO[bytes]
    environment: dict[str, str]
    read: dict[str, str | None]
    owner: int = field(default_factory=os.getpid)

    @classmethod
    def start(cls) -> Zygote:
        """Start a new interpreter that preloads and serves; wait until it is ready."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        log = tempfile.TemporaryFile()  # noqa: SIM115 (kept open while the zygote lives)
        with theirs:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.support.forkserver", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                cwd=ROOT,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        ours.settimeout(START_SECONDS)
        try:
            ready, _fds = zygote.receive(ours)
        except OSError:
            ready = None
        ours.settimeout(None)
        server = cls(process, ours, log, environment, {})
        if ready is None:
            server.stop()
            raise RuntimeError(f"the fork server did not start:\n{server.output()}")
        server.read = ready["read"]
        return server

    def serves(self, env: Mapping[str, str]) -> bool:
        """Whether a child of this zygote starts as a new interpreter with ``env`` would: the
        variables its imports and an interpreter's start read are the same."""
        if "*" in self.read or any(env.get(k) != v for k, v in self.read.items()):
            return False
        started = {
            key
            for key in env.keys() | self.environment.keys()
            if key in INTERPRETER_VARIABLES or (key.startswith("PYTHON") and key != "PYTHONPATH")
        }
        return all(env.get(key) == self.environment.get(key) for key in started)

    def run(
        self,
        argv: list[str],
        module: str,
        args: list[str],
        env: dict[str, str],
        cwd: str,
        input: Input,
        timeout: float,
    ) -> tuple[int, bytes, bytes]:
        """Fork a child for the request and see it to its end: status, stdout, stderr."""
        request = {"module": module, "args": args, "env": env, "cwd": cwd}
        reply, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        stdin, feed, data = _stdin(input)
        try:
            zygote.send(self.control, request, [theirs.fileno(), stdin, out_write, err_write])
        except OSError as error:
            for fd in (out_read, err_read, *([feed] if feed is not None else [])):
                os.close(fd)
            reply.close()
            raise RuntimeError(f"the fork server is gone:\n{self.output()}") from error
        finally:
            theirs.close()
            for fd in (stdin, out_write, err_write):
                os.close(fd)
        exchange = Exchange(reply, out_read, err_read, feed, data)
        try:
            return exchange.finish(argv, timeout, self.output)
        except BaseException:
            exchange.kill()  # as subprocess.run does when the wait is interrupted
            raise
        finally:
            exchange.close()

    def output(self) -> str:
        """What the zygote wrote to stderr (why it died, when it did)."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        """Close the control socket (the zygote kills its children and exits) and wait."""
        self.control.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _stdin(input: Input) -> tuple[int, int | None, bytes]:
    """The child's stdin descriptor, and the pipe end to write ``input`` to when it is data."""
    if input is None:
        return os.open(os.devnull, os.O_RDONLY), None, b""
    if isinstance(input, Path):
        return os.open(input, os.O_RDONLY), None, b""
    read, write = os.pipe()
    os.set_blocking(write, False)
    return read, write, input.encode() if isinstance(input, str) else input


class Exchange:
    """One child's run seen from the test: feed its stdin, collect its output and its status."""

    def __init__(
        self, reply: socket.socket, out: int, err: int, feed: int | None, data: bytes
    ) -> None:
        self.reply = reply
        self.outputs: dict[int, list[bytes]] = {out: [], err: []}
        self.order = (out, err)
        self.feed = feed
        self.data = memoryview(data)
        self.selector = selectors.DefaultSelector()
        for fd in self.outputs:
            self.selector.register(fd, selectors.EVENT_READ)
        self.selector.register(reply, selectors.EVENT_READ)
        if feed is not None:
            self.selector.register(feed, selectors.EVENT_WRITE)
        self.pid: int | None = None
        self.status: int | None = None
        self.open = len(self.outputs)

    def finish(self, argv: list[str], timeout: float, why: Any) -> tuple[int, bytes, bytes]:
        """Run to the end, or kill the child at ``timeout`` and raise ``TimeoutExpired``."""
        deadline = time.monotonic() + timeout
        while self.status is None or self.open:
            left = deadline - time.monotonic()
            if left <= 0:
                self.time_out(argv, timeout, why)
            for key, _events in self.selector.select(left):
                self.handle(key.fileobj, why)
        assert self.status is not None
        out, err = (b"".join(self.outputs[fd]) for fd in self.order)
        return self.status, out, err

    def handle(self, source: Any, why: Any) -> None:
        """Act on one ready source: the reply socket, an output pipe or the stdin pipe."""
        if source is self.reply:
            self.on_reply(why)
        elif source == self.feed:
            self.write_input()
        else:
            chunk = os.read(source, 65536)
            if chunk:
                self.outputs[source].append(chunk)
            else:
                self.selector.unregister(source)
                self.open -= 1

    def on_reply(self, why: Any) -> None:
        """The pid, then the status; the zygote closing the socket before that is an error."""
        message, _fds = zygote.receive(self.reply)
        if message is None:
            raise RuntimeError(f"the fork server lost a child:\n{why()}")
        if "pid" in message:
            self.pid = int(message["pid"])
        else:
            self.status = int(message["status"])
            self.selector.unregister(self.reply)

    def write_input(self) -> None:
        """Write what the pipe takes; close it at the end or when the child closed its end."""
        assert self.feed is not None
        try:
            written = os.write(self.feed, self.data[:65536])
        except BrokenPipeError:
            written = len(self.data)
        self.data = self.data[written:]
        if not self.data:
            self.selector.unregister(self.feed)
            os.close(self.feed)
            self.feed = None

    def time_out(self, argv: list[str], timeout: float, why: Any) -> None:
        """Kill the child, wait for its status, raise ``TimeoutExpired``."""
        self.kill()
        while self.status is None:
            self.on_reply(why)
        out, err = (b"".join(self.outputs[fd]) for fd in self.order)
        raise subprocess.TimeoutExpired(argv, timeout, output=out, stderr=err)

    def kill(self) -> None:
        """SIGKILL the child through the zygote (which knows whether it still runs)."""
        if self.status is None:
            with suppress(OSError):
                zygote.send(self.reply, {"signal": signal.SIGKILL})

    def close(self) -> None:
        """Close the pipes and the reply socket."""
        self.selector.close()
        for fd in self.outputs:
            os.close(fd)
        if self.feed is not None:
            os.close(self.feed)
        self.reply.close()


_server: Zygote | None = None
_lock = threading.Lock()


def _current() -> Zygote:
    """This process's zygote, started on first use (again in a process forked from ours)."""
    global _server
    with _lock:
        if _server is None or _server.owner != os.getpid():
            _server = Zygote.start()
        return _server


if __name__ == "__main__":
    zygote.main()
