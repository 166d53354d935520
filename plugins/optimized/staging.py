"""Temporary staging tables, loaded in one statement (COPY on PostgreSQL, one ``INSERT ... SELECT``
over a JSON array of the rows on SQLite), so that thousands of row changes become one
``UPDATE ... FROM`` instead of thousands of updates."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, MetaData, Table, delete, insert, select
from sqlalchemy.orm import Session

from plugins.common.rowsets import rowset


def temp_table(name: str, *columns: Column[Any]) -> Table:
    """A TEMPORARY table definition (dropped at commit on PostgreSQL, at the end on SQLite)."""
    return Table(name, MetaData(), *columns, prefixes=["TEMPORARY"], postgresql_on_commit="DROP")


@contextmanager
def staging(session: Session, table: Table) -> Iterator[Table]:
    """Create ``table`` for the current transaction and drop it afterwards."""
    conn = session.connection()
    table.create(conn, checkfirst=False)
    try:
        yield table
    finally:
        if conn.dialect.name != "postgresql":
            table.drop(conn, checkfirst=False)


def load(session: Session, table: Table, rows: Sequence[tuple[Any, ...]], counter: Any) -> None:
    """Fill ``table`` with ``rows`` (tuples in column order) in one statement."""
    if not rows:
        return
    conn = session.connection()
    names = [column.name for column in table.columns]
    if conn.dialect.name == "postgresql":
        raw: Any = conn.connection.driver_connection  # a psycopg connection
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        counter.increment()
        # A temporary table has no statistics until analyzed: without them the planner takes
        # it for a few rows and joins it by nested loops (minutes for 5,000 staged results).
        conn.exec_driver_sql(f"ANALYZE {table.name}")
    else:
        # One JSON array of all the rows: an executemany would run the insert once per row.
        source = rowset(
            conn.dialect, [(column.name, column.type) for column in table.columns], rows
        )
        conn.execute(insert(table).from_select(names, select(*source.c)))


def clear(session: Session, table: Table) -> None:
    """Empty ``table`` for the next chunk."""
    session.execute(delete(table))
