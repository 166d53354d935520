"""Start-up checks survive the server dropping a connection under them (a restarted server, a
terminated backend): the read is tried again on a fresh connection, a bounded number of times."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kernel.db.engine import Database
from kernel.db.migrate import upgrade
from plugins.cli.readiness import LOST_CONNECTION_TRIES, DatabaseNotReadyError, require_schema
from tests.support.connection_cuts import cut_connections


@pytest.fixture
def database(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    upgrade(database)
    yield database
    database.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("times", [1, LOST_CONNECTION_TRIES - 1])
def test_a_connection_lost_during_the_checks_is_replaced(database: Database, times: int) -> None:
    cut = cut_connections(database.engine, times)
    require_schema(database)
    assert len(cut) == times


@pytest.mark.postgres
def test_a_connection_lost_on_every_try_is_one_line(database: Database) -> None:
    cut = cut_connections(database.engine, LOST_CONNECTION_TRIES)
    with pytest.raises(DatabaseNotReadyError) as raised:
        require_schema(database)
    assert len(cut) == LOST_CONNECTION_TRIES
    assert str(raised.value).startswith("cannot use the database postgresql+psycopg://")
    assert "\n" not in str(raised.value)
