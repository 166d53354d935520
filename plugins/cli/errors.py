"""The errors the environment raises for the usual mistakes (database down or not migrated, a
file missing or a directory, a port in use) as one line naming the cause and the fix; the command
line shows :class:`kernel.types.KernelError` so itself, and anything else is a bug (traceback)."""

from __future__ import annotations

import errno

from sqlalchemy.exc import DBAPIError

from kernel.types import KernelError

DEBUG_HINT = "(--debug shows the traceback)"


class PortInUseError(KernelError):
    """A server could not listen: the port is taken."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(
            f"port {port} on {host} is already in use: stop what listens there, or choose "
            "another port with --port (0 picks a free one)"
        )


def listen_error(exc: OSError, host: str, port: int) -> Exception:
    """The error to raise when binding ``host:port`` failed with ``exc``."""
    if exc.errno == errno.EADDRINUSE:
        return PortInUseError(host, port)
    if exc.errno == errno.EACCES:
        return KernelError(
            f"no permission to listen on {host}:{port}: use a port above 1023 (--port)"
        )
    return exc


def explain(exc: BaseException) -> tuple[str, int] | None:
    """The message and exit status for an expected error, or None for a bug."""
    if isinstance(exc, DBAPIError):
        from plugins.cli.readiness import explain_database_error

        first = (str(exc.orig or exc).strip().splitlines() or [""])[0]
        return explain_database_error(exc) or f"database error: {first} {DEBUG_HINT}", 1
    if isinstance(exc, OSError):
        return _os_error(exc), 1
    return None


def _os_error(exc: OSError) -> str:
    """A file or network error in one line."""
    name = exc.filename
    if isinstance(exc, IsADirectoryError):
        return f"{name} is a directory: give the path of a file"
    if isinstance(exc, FileNotFoundError):
        return f"{name} does not exist: check the path"
    if isinstance(exc, PermissionError):
        return f"permission denied on {name}: check its owner and mode"
    if exc.errno == errno.EADDRINUSE:
        return (
            "the address is already in use: stop what listens on that port, or choose another "
            "with --port"
        )
    if exc.errno == errno.ENOSPC:
        return f"no space left on the device{f' writing {name}' if name else ''}: free some"
    return f"{exc.strerror or exc}{f': {name}' if name else ''} {DEBUG_HINT}"
