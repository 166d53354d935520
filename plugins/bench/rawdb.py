"""A thin DB-API wrapper for the raw SQL floor: sqlite3 or psycopg directly, no SQLAlchemy at
run time, counting statements the way the kernel's query counter does (one per execute, one per
executemany or COPY; BEGIN and COMMIT not counted)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import make_url


class RawDB:
    """One connection to a SQLite file or a PostgreSQL database, with ``?`` placeholders."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.is_postgres = parsed.get_backend_name() == "postgresql"
        self.queries = 0
        if self.is_postgres:
            import psycopg

            args = parsed.translate_connect_args(username="user", database="dbname")
            params: dict[str, Any] = {**args, **parsed.query}
            self.conn: Any = psycopg.connect(**params)
        else:
            self.conn = sqlite3.connect(parsed.database or "", isolation_level=None)
            for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"):
                self.conn.execute(f"PRAGMA {pragma}")
        self.begin()

    def sql(self, statement: str) -> str:
        """The statement in the driver's placeholder style."""
        return statement.replace("?", "%s") if self.is_postgres else statement

    def value(self, moment: datetime) -> Any:
        """A timestamp as the schema stores it (SQLAlchemy's text form on SQLite)."""
        return moment if self.is_postgres else moment.strftime("%Y-%m-%d %H:%M:%S.%f")

    def begin(self) -> None:
        """Start a write transaction (SQLite: take the write lock up front, as the kernel does)."""
        if not self.is_postgres:
            self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        """Commit and start the next transaction."""
        if self.is_postgres:
            self.conn.commit()
        else:
            self.conn.execute("COMMIT")
        self.begin()

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; returns the cursor."""
        self.queries += 1
        return self.conn.execute(self.sql(statement), params)

    def load(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Fill a table in one statement: COPY on PostgreSQL, executemany on SQLite."""
        self.queries += 1
        names = ", ".join(columns)
        if self.is_postgres:
            with (
                self.conn.cursor() as cursor,
                cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" for _ in columns)
        self.conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    def stream(self, statement: str, params: Sequence[Any] = (), size: int = 2000) -> Iterator[Any]:
        """Rows of a query without holding them all (a server-side cursor on PostgreSQL)."""
        self.queries += 1
        if self.is_postgres:
            with self.conn.cursor(name="floor_stream") as cursor:
                cursor.itersize = size
                cursor.execute(self.sql(statement), params)
                yield from cursor
            return
        yield from self.conn.execute(statement, params)

    def close(self) -> None:
        """Commit what is open and close the connection."""
        if self.is_postgres:
            self.conn.commit()
        else:
            self.conn.execute("COMMIT")
        self.conn.close()
