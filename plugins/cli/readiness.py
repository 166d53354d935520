"""Is the database usable? Reachable, created, and at the schema revisions this installation ships
(the newest of the built-in history and of each installed plugin's branch).

Commands check before they work (``run``, ``status``, ``doctor``) and report one line naming the
cause and the fix instead of a driver's traceback; :func:`explain_database_error` turns the
errors the drivers raise for the usual mistakes (server down, database missing, wrong password,
no schema) into such a line wherever they surface.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from kernel.types import ConfigError

UPGRADE = "run `batchkernel db upgrade`"
NO_SCHEMA = f"the database has no schema: {UPGRADE}"
LOST_CONNECTION_TRIES = 3
"""How often a start-up read is tried when the server drops its connection mid-way."""
_SERVER = re.compile(r'server at "([^"]+)"(?:\s*\([^)]*\))?, port (\d+)')


class DatabaseNotReadyError(ConfigError):
    """The database cannot be used as it is; the message names the cause and the fix."""


def shown_url(url: URL | str) -> str:
    """The URL without its password, for messages and banners."""
    if isinstance(url, str):
        from sqlalchemy.engine import make_url

        try:
            url = make_url(url)
        except Exception:
            return "<an invalid URL>"
    return url.render_as_string(hide_password=True)


def _where(url: URL | None, message: str) -> str:
    """``host:port`` of the PostgreSQL server, from the URL or the driver's message."""
    if url is not None and url.get_backend_name() == "postgresql":
        return f"{url.host or 'localhost'}:{url.port or 5432}"
    found = _SERVER.search(message)
    return f"{found.group(1)}:{found.group(2)}" if found else "the configured server"


def explain_database_error(exc: BaseException, url: URL | None = None) -> str | None:
    """One line with the cause and the fix for a database error a user can act on, or None."""
    message = str(getattr(exc, "orig", None) or exc)
    lowered = message.lower()
    where = _where(url, message)
    if (
        "no such table" in lowered
        or "undefinedtable" in type(getattr(exc, "orig", exc)).__name__.lower()
        or ("relation" in lowered and "does not exist" in lowered)
    ):
        return NO_SCHEMA
    if "connection refused" in lowered:
        return (
            f"cannot reach PostgreSQL at {where} (connection refused): start the server, or fix "
            "the host and port in database.url / --database"
        )
    database = re.search(r'database "([^"]+)" does not exist', message)
    if database:
        user = f" -U {url.username}" if url is not None and url.username else ""
        host, _, port = where.partition(":")
        return (
            f"PostgreSQL at {where} has no database {database.group(1)!r}: create it with "
            f"`createdb -h {host} -p {port}{user} {database.group(1)}`, then {UPGRADE}"
        )
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        refused = url.username if url is not None else None
        return (
            f"PostgreSQL at {where} refused user {refused or '(unknown)'!r}: fix the user or "
            "password in database.url / --database"
        )
    role = re.search(r'role "([^"]+)" does not exist', message)
    if role:
        return (
            f"PostgreSQL at {where} has no user {role.group(1)!r}: fix the user in "
            "database.url / --database"
        )
    if "could not translate host name" in lowered or "name or service not known" in lowered:
        unknown = url.host if url is not None else "?"
        return f"cannot resolve the database host {unknown!r}: fix database.url / --database"
    if "timeout expired" in lowered or "timed out" in lowered:
        return (
            f"PostgreSQL at {where} did not answer in time: check the host, the port and the "
            "firewall"
        )
    if "unable to open database file" in lowered:
        name = url.database if url is not None else "the SQLite file"
        return (
            f"cannot open the SQLite database {name}: check that its directory exists and is "
            "writable"
        )
    if "file is not a database" in lowered:
        name = url.database if url is not None else "the file"
        return f"{name} is not a SQLite database: point database.url / --database at one"
    return None


_T = TypeVar("_T")


def on_fresh_connection(read: Callable[[], _T]) -> _T:
    """``read()``, tried again when the server dropped the connection under it (a restart, a
    terminated backend): the pool has discarded that connection, so the next try gets a new one.
    Any other error, or a connection lost on every try, is raised."""
    tries = 1
    while True:
        try:
            return read()
        except DBAPIError as exc:
            if not exc.connection_invalidated or tries >= LOST_CONNECTION_TRIES:
                raise
            tries += 1


def _select_one(db: Any) -> None:
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def check_reachable(db: Any) -> None:
    """Connect once; a missing file or an unreachable server raises one clear line."""
    try:
        on_fresh_connection(lambda: _select_one(db))
    except DBAPIError as exc:
        raise DatabaseNotReadyError(
            explain_database_error(exc, db.url)
            or f"cannot use the database {shown_url(db.url)}: {_first_line(exc)}"
        ) from exc


def schema_heads(db: Any) -> frozenset[str]:
    """The schema revisions of a reachable database, the newest of each of its branches (empty:
    no schema yet)."""
    from plugins.cli.revisions import current_heads

    try:
        return on_fresh_connection(lambda: current_heads(db))
    except DBAPIError as exc:
        raise DatabaseNotReadyError(
            explain_database_error(exc, db.url) or f"cannot read the schema: {_first_line(exc)}"
        ) from exc


def named(revisions: Iterable[str]) -> str:
    """``revision 0008``, or ``revisions 0008 and notes_0001``, in order."""
    names = sorted(revisions)
    if len(names) == 1:
        return f"revision {names[0]}"
    return f"revisions {', '.join(names[:-1])} and {names[-1]}"


def unknown_problem(heads: Collection[str]) -> str | None:
    """Why a database at ``heads`` is beyond this installation: it has revisions nobody here
    ships (a newer batchkernel, or a plugin not installed here, migrated it), or None."""
    from plugins.cli.revisions import known_revisions

    unknown = set(heads) - known_revisions()
    if not unknown:
        return None
    return (
        f"the database schema is at {named(unknown)}, which this installation of batchkernel "
        "does not ship (a newer version of batchkernel, or a plugin that is not installed here, "
        "migrated it): upgrade batchkernel, or install that plugin"
    )


def schema_problem(heads: Collection[str]) -> str | None:
    """Why a database at ``heads`` cannot be used by this installation, or None: it is up to date
    when its heads are the ones this installation ships (the built-in history's and each
    installed plugin's branch)."""
    from plugins.cli.revisions import shipped_heads

    if not heads:
        return NO_SCHEMA
    shipped = shipped_heads()
    if set(heads) == shipped:
        return None
    return unknown_problem(heads) or (
        f"the database schema is at {named(heads)}, older than this installation's "
        f"({named(shipped)}): {UPGRADE}"
    )


def require_schema(db: Any) -> None:
    """Raise :class:`DatabaseNotReadyError` unless the database is reachable and migrated."""
    check_reachable(db)
    problem = schema_problem(schema_heads(db))
    if problem:
        raise DatabaseNotReadyError(problem)


def _first_line(exc: BaseException) -> str:
    """The first line of an error's message (drivers append SQL and links)."""
    return (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
