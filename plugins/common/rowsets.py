"""Many rows as one relation bound in a fixed number of parameters, for set-based writes.

PostgreSQL gets one array per column, read back as rows by ``unnest``; SQLite gets one JSON array
of rows, read by ``json_each``. A statement's parameters do not grow with its rows, so one
``INSERT ... SELECT`` or ``UPDATE ... FROM`` writes any number of rows: no ``executemany`` (which
the database runs once per row) and no limit on bound parameters to chunk around. Strings travel
as ``text`` so that an over-long value is refused by the column it is written to, never cut to
size by a cast on the way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Row,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FromClause
from sqlalchemy.types import TypeEngine

Field = tuple[str, TypeEngine[Any]]


def fields_of(table: Table, *names: str) -> list[Field]:
    """(name, type) of these columns of ``table``, in this order."""
    return [(name, table.c[name].type) for name in names]


def rowset(
    dialect: Dialect, fields: Sequence[Field], rows: Sequence[Sequence[Any]], name: str = "v"
) -> FromClause:
    """``rows`` (tuples in ``fields`` order) as a relation named ``name`` with one column per
    field, values converted as the fields' types convert them."""
    names = [field for field, _ in fields]
    if dialect.name == "postgresql":
        return _unnest(fields, rows, name)
    payload = bindparam(f"{name}_rows", _json_rows(dialect, fields, rows), type_=Text)
    each = func.json_each(payload).table_valued("value")
    # An OFFSET keeps SQLite from flattening this subquery into the outer one, which would render
    # each row's JSON text again for every column it reads (2.5 times slower); written literally,
    # as a bound LIMIT and OFFSET make the insert 1.7 times slower.
    unflattened = (
        select(each.c.value.label("r")).limit(literal_column("-1")).offset(literal_column("0"))
    )
    row = unflattened.subquery(f"{name}_json")
    return select(
        *(
            func.json_extract(row.c.r, literal_column(f"'$[{index}]'")).label(field)
            for index, field in enumerate(names)
        )
    ).subquery(name)


def _unnest(fields: Sequence[Field], rows: Sequence[Sequence[Any]], name: str) -> FromClause:
    """PostgreSQL: one typed array per column, zipped into rows by ``unnest``. JSON values travel
    as text (an array type would read a JSON list as a dimension) and are cast back."""
    arrays = []
    for index, (field, type_) in enumerate(fields):
        values = [row[index] for row in rows]
        item: TypeEngine[Any] = type_
        if isinstance(type_, JSON):
            item = Text()
            values = [_json_text(type_, value) for value in values]
        elif isinstance(type_, String):
            item = Text()
        arrays.append(cast(bindparam(f"{name}_{field}", values, type_=ARRAY(item)), ARRAY(item)))
    names = [field for field, _ in fields]
    zipped = func.unnest(*arrays).table_valued(*names).render_derived(name=f"{name}_arrays")
    return select(
        *(
            cast(zipped.c[field], type_).label(field)
            if isinstance(type_, JSON)
            else zipped.c[field].label(field)
            for field, type_ in fields
        )
    ).subquery(name)


def _json_text(type_: JSON, value: Any) -> str | None:
    """A value of a JSON column as JSON text (``None`` as SQL NULL only where the type says so)."""
    if value is None and type_.none_as_null:
        return None
    return orjson.dumps(value).decode()


def _json_rows(dialect: Dialect, fields: Sequence[Field], rows: Sequence[Sequence[Any]]) -> str:
    """The rows as one JSON array, each value as the field's type binds it (SQLite)."""
    processors: list[tuple[int, Callable[[Any], Any]]] = []
    for index, (_, type_) in enumerate(fields):
        if isinstance(type_, Boolean):
            continue  # JSON true and false are read back as 1 and 0, as SQLite stores them
        processor = type_.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors.append((index, processor))
    if processors:
        converted = []
        for row in rows:
            values = list(row)
            for index, bind in processors:
                values[index] = bind(values[index])
            converted.append(values)
        rows = converted
    return orjson.dumps(rows).decode()


def insert_rows(
    session: Session,
    table: Table,
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    skip_conflicts: Sequence[str] = (),
    returning: Sequence[Column[Any]] = (),
) -> list[Row[Any]]:
    """Insert ``rows`` (tuples in ``names`` order) into ``table`` in one statement; rows that
    conflict on the unique columns ``skip_conflicts`` are left out. Returns the ``returning``
    columns of the rows inserted."""
    if not rows:
        return []
    dialect = session.get_bind().dialect
    source = rowset(dialect, fields_of(table, *names), rows)
    # ``WHERE true``: SQLite would read ``SELECT ... ON CONFLICT`` as a join constraint.
    selected = select(*source.c).where(true())
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    statement: Any = insert(table).from_select(list(names), selected)
    if skip_conflicts:
        statement = statement.on_conflict_do_nothing(index_elements=list(skip_conflicts))
    if returning:
        return list(session.execute(statement.returning(*returning)))
    session.execute(statement)
    return []


def update_rows(
    session: Session,
    table: Table,
    key: str,
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Set each row's columns (tuples in ``names`` order, ``key`` among them), and
    ``constants``, on the row of ``table`` whose ``key`` matches: one ``UPDATE ... FROM``."""
    if not rows:
        return
    source = rowset(session.get_bind().dialect, fields_of(table, *names), rows)
    values = {name: source.c[name] for name in names if name != key}
    session.execute(
        update(table)
        .where(table.c[key] == source.c[key])
        .values(values | dict(constants or {}))
        .execution_options(synchronize_session=False)
    )
