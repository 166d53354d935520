"""Set-based writes of many rows: one statement per table and chunk, on either database.

PostgreSQL gets each column as one array parameter, expanded with ``unnest`` (one statement on
the server, however many rows; psycopg's ``executemany`` would run one statement per row).
SQLite, in process and without a network round trip, gets the driver's ``executemany`` of one
prepared statement, or SQLAlchemy's multi-row ``VALUES`` pages when rows come back (RETURNING).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    Column,
    Row,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TableValuedAlias

Rows = Sequence[Mapping[str, Any]]


def _unnest(table: Table, rows: Rows) -> TableValuedAlias:
    """``unnest(array, array, ...) AS name(col, col, ...)``: the rows as a PostgreSQL relation.

    Strings travel as ``text[]`` so that an over-long value is refused by the column, never cut
    to size by an explicit ``varchar(n)`` cast.
    """
    names = list(rows[0])
    arrays = []
    for name in names:
        kind = table.c[name].type
        element = Text() if isinstance(kind, String) else kind
        values = [row[name] for row in rows]
        arrays.append(cast(bindparam(None, values, type_=ARRAY(element)), ARRAY(element)))
    return func.unnest(*arrays).table_valued(*names).render_derived()


def insert_rows(
    session: Session,
    table: Table,
    rows: Rows,
    *,
    skip_conflicts: Sequence[str] = (),
    returning: Sequence[Column[Any]] = (),
) -> list[Row[Any]]:
    """Insert ``rows`` (dicts with the same keys); rows conflicting on the unique columns
    ``skip_conflicts`` are left out. Returns the ``returning`` columns of the inserted rows."""
    if not rows:
        return []
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        source = _unnest(table, rows)
        statement: Any = postgresql.insert(table).from_select(
            list(rows[0]), select(*[source.c[name] for name in rows[0]])
        )
        if skip_conflicts:
            statement = statement.on_conflict_do_nothing(index_elements=list(skip_conflicts))
        if returning:
            return list(session.execute(statement.returning(*returning)))
        session.execute(statement)
        return []
    statement = sqlite.insert(table)
    if skip_conflicts:
        statement = statement.on_conflict_do_nothing(index_elements=list(skip_conflicts))
    if returning:
        return list(session.execute(statement.returning(*returning), list(rows)))
    session.execute(statement, list(rows))
    return []


def update_rows(
    session: Session, table: Table, key: str, rows: Rows, constants: Mapping[str, Any]
) -> None:
    """Set each row's columns (and ``constants``) on the row of ``table`` whose ``key`` matches."""
    if not rows:
        return
    bind = session.get_bind()
    names = [name for name in rows[0] if name != key]
    if bind.dialect.name == "postgresql":
        source = _unnest(table, rows)
        session.execute(
            update(table)
            .where(table.c[key] == source.c[key])
            .values({name: source.c[name] for name in names} | dict(constants))
        )
        return
    statement = (
        update(table)
        .where(table.c[key] == bindparam(f"match_{key}"))
        .values({name: bindparam(f"set_{name}") for name in names} | dict(constants))
    )
    session.execute(
        statement,
        [{f"match_{key}": row[key]} | {f"set_{name}": row[name] for name in names} for row in rows],
    )
