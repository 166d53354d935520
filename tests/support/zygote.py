"""The fork server's process: imports the kernel, the plugins and the libraries their commands
load (what ``python -m kernel`` imports, and more), once, then forks a child per request that
runs the command as a fresh ``python -m kernel`` would (tests.support.forkserver starts it, as
``python -m tests.support.forkserver CONTROL_FD``, and talks to it).

Requests arrive on a ``SOCK_SEQPACKET`` socket, one message each: JSON ``{module, args, env, cwd}``
with four file descriptors attached: a reply socket, then the child's stdin, stdout and stderr.
The reply socket carries ``{"pid": n}``, later ``{"status": code}`` (``-N`` when signal N ended
the child, like subprocess); the client may send ``{"signal": N}`` on it until then. The server
stays single-threaded (a thread would not survive the fork) and waits on pidfds, so it can serve
several requests at once.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import pkgutil
import runpy
import selectors
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

# The dispositions this interpreter started with: what a fresh one started by the same worker
# has (Python's own, and whatever the worker's parent ignored, e.g. SIGINT in a background job).
STARTING_SIGNALS = {
    signum: signal.getsignal(signum)
    for signum in signal.valid_signals()
    if signum not in (signal.SIGKILL, signal.SIGSTOP)
}
MESSAGE_BYTES = 1 << 20
"""Upper bound of one message (a request's environment is a few kilobytes)."""

PACKAGES = ("kernel", "plugins")
"""Every module of these is imported (all of it takes under a second), but ``__main__`` ones and
those below ``LEFT_OUT``."""

LEFT_OUT = ("plugins.serve.", "plugins.otel.")
"""The HTTP server and the telemetry SDK load when a command uses them, as in a fresh start (few
children do); ``prometheus_client`` imports ``wsgiref.handlers``, which copies the environment."""

LIBRARIES = (
    "openai",
    "anthropic",
    "psycopg",
    "sqlalchemy.dialects.postgresql.psycopg",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "alembic.command",
)
"""What commands import only when used and many test children need: the SDKs a ``run`` builds
clients of, the database drivers ``create_engine`` loads, the migration tool."""


def send(sock: socket.socket, message: dict[str, Any], fds: list[int] = []) -> None:  # noqa: B006
    """Send one message (JSON) with ``fds`` attached."""
    socket.send_fds(sock, [json.dumps(message).encode()], fds)


def receive(sock: socket.socket, maxfds: int = 0) -> tuple[dict[str, Any] | None, list[int]]:
    """One message and its attached descriptors; ``None`` when the other end closed."""
    data, fds, _flags, _address = socket.recv_fds(sock, MESSAGE_BYTES, maxfds)
    return (json.loads(data) if data else None), fds


def our_modules() -> Iterator[str]:
    """The modules of ``PACKAGES`` to preload (finding them imports the packages)."""
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if not module.name.endswith(".__main__") and not module.name.startswith(LEFT_OUT):
                yield module.name


def preload() -> dict[str, str | None]:
    """Import the kernel, every plugin module and the heavy libraries they load lazily; return
    the environment variables the imports read, with their values (so a client can tell when a
    request's environment would have imported differently). Nothing is called: a cache filled
    here would be every child's."""
    with recorded_environment_reads() as read:
        for name in [*our_modules(), *LIBRARIES]:
            importlib.import_module(name)
    if threading.active_count() != 1:
        raise RuntimeError(f"an import started a thread: {threading.enumerate()}")
    return read


@contextmanager
def recorded_environment_reads() -> Iterator[dict[str, str | None]]:
    """Record the variables read through ``os.environ`` (and ``os.getenv``) in the block; a
    whole-environment read (iteration, copy) records ``*``."""
    environ_type = type(os.environ)
    getitem, iterate, copy = environ_type.__getitem__, environ_type.__iter__, environ_type.copy
    read: dict[str, str | None] = {}

    def recording_getitem(self: Any, key: Any) -> Any:
        if self is not os.environ:
            return getitem(self, key)
        read[key] = None
        read[key] = value = getitem(self, key)
        return value

    def recording_iterate(self: Any) -> Any:
        if self is os.environ:
            read["*"] = None
        return iterate(self)

    def recording_copy(self: Any) -> Any:
        if self is os.environ:
            read["*"] = None
        return copy(self)

    environ_type.__getitem__ = recording_getitem  # type: ignore[method-assign]
    environ_type.__iter__ = recording_iterate  # type: ignore[method-assign]
    environ_type.copy = recording_copy  # type: ignore[method-assign]
    try:
        yield read
    finally:
        environ_type.__getitem__ = getitem  # type: ignore[method-assign]
        environ_type.__iter__ = iterate  # type: ignore[method-assign]
        environ_type.copy = copy  # type: ignore[method-assign]


@dataclass
class Child:
    """A running child: its pid, its pidfd (readable once it ended) and the client's socket."""

    pid: int
    pidfd: int
    reply: socket.socket


class Server:
    """Forks a child per request and reports its pid and exit status; single-threaded."""

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.selector = selectors.DefaultSelector()
        self.selector.register(control, selectors.EVENT_READ)
        self.children: dict[int, Child] = {}
        self.base_path = sys.path[1:]

    def serve(self) -> None:
        """Serve until the client closes the control socket; then kill what still runs."""
        try:
            while self.step():
                pass
        finally:
            for child in list(self.children.values()):
                self.signal(child, signal.SIGKILL)
                self.reap(child)

    def step(self) -> bool:
        """Handle what is ready; ``False`` once the client is gone."""
        for key, _events in self.selector.select():
            if key.fileobj is self.control:
                request, fds = receive(self.control, maxfds=4)
                if request is None:
                    return False
                self.start(request, fds)
                continue
            child: Child = key.data
            if self.children.get(child.pidfd) is not child:
                continue  # reaped earlier in this round
            if isinstance(key.fileobj, socket.socket):
                self.forward_signal(child)
            else:
                self.reap(child)
        return True

    def start(self, request: dict[str, Any], fds: list[int]) -> None:
        """Fork the child of ``request``; tell the client its pid."""
        reply_fd, *stdio = fds
        reply = socket.socket(fileno=reply_fd)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            try:
                self.close_inherited(reply)
                run_child(request, stdio, self.base_path)
            except BaseException:
                sys.excepthook(*sys.exc_info())
            finally:
                os._exit(70)  # only when the child could not be set up
        for fd in set(stdio):
            os.close(fd)
        child = Child(pid, os.pidfd_open(pid), reply)
        self.children[child.pidfd] = child
        self.selector.register(child.pidfd, selectors.EVENT_READ, child)
        self.selector.register(reply, selectors.EVENT_READ, child)
        self.tell(child, {"pid": pid})

    def close_inherited(self, reply: socket.socket) -> None:
        """In a child: close the server's descriptors (its own reply socket too)."""
        self.selector.close()
        self.control.close()
        reply.close()
        for child in self.children.values():
            child.reply.close()
            os.close(child.pidfd)

    def forward_signal(self, child: Child) -> None:
        """Send the signal the client asks for."""
        try:
            message, _fds = receive(child.reply)
        except OSError:
            message = None
        if message is None:
            self.selector.unregister(child.reply)
        else:
            self.signal(child, int(message["signal"]))

    def signal(self, child: Child, signum: int) -> None:
        """Signal the child through its pidfd (never a recycled pid); one that ended is left."""
        with suppress(ProcessLookupError):
            signal.pidfd_send_signal(child.pidfd, signum)

    def reap(self, child: Child) -> None:
        """Collect the ended child's status and report it."""
        _pid, status = os.waitpid(child.pid, 0)
        self.tell(child, {"status": os.waitstatus_to_exitcode(status)})
        self.selector.unregister(child.pidfd)
        if child.reply.fileno() in self.selector.get_map():
            self.selector.unregister(child.reply)
        del self.children[child.pidfd]
        os.close(child.pidfd)
        child.reply.close()

    def tell(self, child: Child, message: dict[str, Any]) -> None:
        """Send to the client; a client that went away is ignored."""
        with suppress(OSError):
            send(child.reply, message)


def run_child(request: dict[str, Any], stdio: list[int], base_path: list[str]) -> None:
    """In the forked child: become ``python -m MODULE ARGS`` in the request's environment and
    directory, with the given stdin, stdout and stderr, and exit as it would."""
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
    for fd in set(stdio):
        if fd > 2:
            os.close(fd)
    cwd = request["cwd"]
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(request["env"])
    extra = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    sys.path[:] = [cwd, *map(os.path.abspath, extra), *base_path]
    importlib.invalidate_caches()
    fresh_interpreter_signals()
    sys.argv = [request["module"], *request["args"]]
    os._exit(run_as_main(request["module"]))


def fresh_interpreter_signals() -> None:
    """The signal dispositions a new interpreter started by the worker has: those this one
    started with (SIGINT raising KeyboardInterrupt unless inherited ignored, SIGPIPE and SIGXFSZ
    ignored, the rest default or as inherited)."""
    for signum, handler in STARTING_SIGNALS.items():
        with suppress(OSError, ValueError, TypeError):
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def run_as_main(module: str) -> int:
    """Run ``module`` as ``__main__`` and finish like the interpreter: ``SystemExit`` gives the
    status, an uncaught exception its traceback and 1, KeyboardInterrupt death by SIGINT; then
    non-daemon threads are joined, exit handlers run and the standard streams flushed."""
    interrupted = False
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        status = 0
    except SystemExit as exit:
        status = exit_status(exit.code)
    except BaseException as error:
        if error.__traceback__ is not None:  # shown from runpy's frames on, as by python -m
            error.with_traceback(error.__traceback__.tb_next)
        sys.excepthook(type(error), error, error.__traceback__)
        status, interrupted = 1, isinstance(error, KeyboardInterrupt)
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    status = flushed(status)
    if interrupted:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    return status


def exit_status(code: object) -> int:
    """The status the interpreter gives ``SystemExit(code)``, printing a non-integer code."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def flushed(status: int) -> int:
    """Flush stdout and stderr; a failed stdout flush makes the status 120, as in Python."""
    try:
        sys.stdout.flush()
    except Exception:
        status = status or 120
    with suppress(Exception):
        sys.stderr.flush()
    return status


def main() -> None:
    """Preload, tell the client which environment variables the imports read, then serve on the
    control socket whose descriptor is the first argument."""
    control = socket.socket(fileno=int(sys.argv[1]))
    send(control, {"ready": os.getpid(), "read": preload()})
    Server(control).serve()
