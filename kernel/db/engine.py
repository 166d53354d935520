"""The database: SQLite transactions begin IMMEDIATE (one writer, waiting up to the busy timeout),
PostgreSQL sessions get statement and idle-in-transaction timeouts; every query is counted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import ExecuteStyle
from sqlalchemy.orm import Session, sessionmaker

from kernel.types import ConfigError


class MissingDatabaseError(ConfigError):
    """The SQLite file a command reads does not exist (it is not created for reading)."""


class QueryCounter:
    """Counts driver calls (``total``) and the statements the database runs for them
    (``statements``: an ``executemany`` is one per parameter set, an insertmanyvalues ``INSERT``
    one per batch); ``BEGIN``/``COMMIT`` count in neither, so both databases count alike."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0
        self.statements = 0

    def increment(self, statements: int = 1) -> None:
        """Count one driver call that ran ``statements`` statements."""
        with self._lock:
            self.total += 1
            self.statements += statements

    @contextmanager
    def measure(self) -> Iterator[dict[str, int]]:
        """Yield a dict that holds the ``queries`` and ``statements`` of the block at its end."""
        start, start_statements = self.total, self.statements
        result = {"queries": 0, "statements": 0}
        try:
            yield result
        finally:
            result["queries"] = self.total - start
            result["statements"] = self.statements - start_statements


def server_statements(parameters: Any, context: Any, executemany: bool) -> int:
    """How many statements the database runs for one ``before_cursor_execute``."""
    if not executemany:
        return 1
    if context is not None and context.execute_style is ExecuteStyle.INSERTMANYVALUES:
        return 1
    return max(len(parameters), 1)


def _sqlite_setup(engine: Engine, busy_timeout_ms: int) -> None:
    """Make pysqlite leave transactions to us, then begin each one IMMEDIATE with WAL on."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("read_only"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One database: engine, session factory and query counter, built from ``database.*`` settings."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 5,
        statement_timeout_ms: int = 30_000,
        idle_in_transaction_timeout_ms: int = 30_000,
        sqlite_busy_timeout_ms: int = 30_000,
        echo: bool = False,
        create_missing: bool = True,
    ) -> None:
        try:
            parsed = make_url(url)
        except Exception as exc:
            raise ConfigError(f"database.url is not a valid database URL: {exc}") from exc
        self.url = parsed
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ConfigError(
                f"database.url uses {self.dialect!r}; valid databases: sqlite, postgresql"
            )
        if self.dialect == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        self.create_missing = create_missing
        """False: a missing SQLite file is an error, not created (see :meth:`allow_create`)."""
        if self.dialect == "sqlite":
            if create_missing:
                self.allow_create()
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
            kwargs["pool_pre_ping"] = True
            options = (
                f"-c statement_timeout={int(statement_timeout_ms)} "
                f"-c idle_in_transaction_session_timeout={int(idle_in_transaction_timeout_ms)}"
            )
            kwargs["connect_args"] = {
                "options": options,
                "keepalives": 1,
                "keepalives_idle": 30,
                "keepalives_interval": 10,
                "keepalives_count": 3,
                "connect_timeout": 10,
            }
        self.engine = create_engine(parsed, **kwargs)
        if self.dialect == "sqlite":
            _sqlite_setup(self.engine, sqlite_busy_timeout_ms)
            event.listen(self.engine, "do_connect", self._refuse_missing_file)
        self.queries = QueryCounter()

        @event.listens_for(self.engine, "before_cursor_execute")
        def _count(
            _conn: Any,
            _cursor: Any,
            statement: str,
            parameters: Any,
            context: Any,
            executemany: bool,
        ) -> None:
            if not statement.startswith("BEGIN"):
                self.queries.increment(server_statements(parameters, context, executemany))

        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = sessionmaker(
            self.engine.execution_options(read_only=True), expire_on_commit=False
        )

    @property
    def file(self) -> Path | None:
        """The SQLite database file, or None (PostgreSQL, or SQLite in memory)."""
        name = (self.url.database or "") if self.dialect == "sqlite" else ""
        if not name or name == ":memory:" or name.startswith("file:"):
            return None
        return Path(name).expanduser().resolve()

    def allow_create(self) -> None:
        """Let connecting create a missing SQLite file (and its directory)."""
        self.create_missing = True
        path = self.file
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def _refuse_missing_file(self, *_args: Any) -> None:
        """Before SQLite connects: a missing file is an error unless creating is allowed."""
        path = self.file
        if not self.create_missing and path is not None and not path.exists():
            raise MissingDatabaseError(
                f"the database file {path} does not exist: create it with "
                "`batchkernel db upgrade` (or `batchkernel import FILE`), or pass --database"
            )

    @property
    def is_postgres(self) -> bool:
        """True when the database is PostgreSQL (row locks, COPY, SKIP LOCKED available)."""
        return self.dialect == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one short transaction, committed on success and rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def read_transaction(self) -> Iterator[Session]:
        """A transaction that only reads: on SQLite it takes no write lock, blocking no writer."""
        with self.read_sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @classmethod
    def from_settings(cls, settings: Any, *, create_missing: bool = True) -> Database:
        """Build from the ``database`` section of the settings."""
        db = settings.database
        return cls(
            str(db.url),
            pool_size=int(db.pool_size),
            statement_timeout_ms=int(db.statement_timeout_ms),
            idle_in_transaction_timeout_ms=int(db.idle_in_transaction_timeout_ms),
            sqlite_busy_timeout_ms=int(db.sqlite_busy_timeout_ms),
            echo=bool(db.echo),
            create_missing=create_missing,
        )
