"""Start-up checks survive the server dropping a connection under them (a restarted server, a
terminated backend): the read is tried again on a fresh connection, a bounded number of times."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from kernel.db.engine import Database
from kernel.db.migrate import upgrade
from plugins.cli.readiness import LOST_CONNECTION_TRIES, DatabaseNotReadyError, require_schema


@pytest.fixture
def database(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    upgrade(database)
    yield database
    database.dispose()


def cut_connections(database: Database, times: int) -> list[str]:
    """Terminate the backend of each of the next ``times`` statements just before it runs, from
    another connection, as a server restart would; returns the statements cut."""
    cut: list[str] = []
    admin = sa.create_engine(database.url, poolclass=sa.pool.NullPool)

    def before(conn: sa.Connection, cursor: Any, statement: str, *_: object) -> None:
        if len(cut) >= times:
            return
        pid = cursor.connection.info.backend_pid
        with admin.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        cut.append(statement)

    sa.event.listen(database.engine, "before_cursor_execute", before)
    return cut


@pytest.mark.postgres
@pytest.mark.parametrize("times", [1, LOST_CONNECTION_TRIES - 1])
def test_a_connection_lost_during_the_checks_is_replaced(database: Database, times: int) -> None:
    cut = cut_connections(database, times)
    require_schema(database)
    assert len(cut) == times


@pytest.mark.postgres
def test_a_connection_lost_on_every_try_is_one_line(database: Database) -> None:
    cut = cut_connections(database, LOST_CONNECTION_TRIES)
    with pytest.raises(DatabaseNotReadyError) as raised:
        require_schema(database)
    assert len(cut) == LOST_CONNECTION_TRIES
    assert str(raised.value).startswith("cannot use the database postgresql+psycopg://")
    assert "\n" not in str(raised.value)
