"""Is the database usable? Reachable, created, and at the schema revision this version ships.

Commands check before they work (``run``, ``status``, ``doctor``) and report one line naming the
cause and the fix instead of a driver's traceback; :func:`explain_database_error` turns the
errors the drivers raise for the usual mistakes (server down, database missing, wrong password,
no schema) into such a line wherever they surface.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from kernel.types import ConfigError

UPGRADE = "run `batchkernel db upgrade`"
NO_SCHEMA = f"the database has no schema: {UPGRADE}"
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


def check_reachable(db: Any) -> None:
    """Connect once; a missing file or an unreachable server raises one clear line."""
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        raise DatabaseNotReadyError(
            explain_database_error(exc, db.url)
            or f"cannot use the database {shown_url(db.url)}: {_first_line(exc)}"
        ) from exc


def schema_revision(db: Any) -> str | None:
    """The schema revision of a reachable database (None: no schema yet)."""
    from kernel.db.migrate import current_revision

    try:
        return current_revision(db)
    except DBAPIError as exc:
        raise DatabaseNotReadyError(
            explain_database_error(exc, db.url) or f"cannot read the schema: {_first_line(exc)}"
        ) from exc


def schema_problem(revision: str | None) -> str | None:
    """Why a database at ``revision`` cannot be used by this version, or None."""
    from kernel.db.migrate import head_revision, known_revisions

    if revision is None:
        return NO_SCHEMA
    if revision == head_revision():
        return None
    if revision in known_revisions():
        return (
            f"the database schema is at revision {revision}, older than this version's: {UPGRADE}"
        )
    return (
        f"the database schema is at revision {revision}, which this version of batchkernel does "
        "not know (a newer version migrated it): upgrade batchkernel"
    )


def require_schema(db: Any) -> None:
    """Raise :class:`DatabaseNotReadyError` unless the database is reachable and migrated."""
    check_reachable(db)
    problem = schema_problem(schema_revision(db))
    if problem:
        raise DatabaseNotReadyError(problem)


def _first_line(exc: BaseException) -> str:
    """The first line of an error's message (drivers append SQL and links)."""
    return (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
