"""Smoke tests for the database fixtures in tests.support.databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.support.databases import DatabasePool, worker_id

# Harmless if tests/conftest.py registers the plugin too (pytest loads it once).
pytest_plugins = ["tests.support.databases"]


def test_db_url_roundtrip(db_url: str) -> None:
    """A fresh database accepts a table, an insert and a read back."""
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            assert sa.inspect(conn).get_table_names() == []
            conn.exec_driver_sql("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            conn.exec_driver_sql("INSERT INTO item (id, name) VALUES (1, 'one'), (2, 'two')")
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT id, name FROM item ORDER BY id").all()
        assert [tuple(row) for row in rows] == [(1, "one"), (2, "two")]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_url_is_fresh_database(postgres_server_url: str, postgres_url: str) -> None:
    """postgres_url names an empty database on the server of this test alone, named after the
    configured one and the xdist worker."""
    name = make_url(postgres_url).database
    configured = make_url(postgres_server_url).database or "bk"
    assert name is not None and name.startswith(f"{configured.lower()[:32]}_{worker_id()}_")
    assert make_url(postgres_url).drivername == "postgresql+psycopg"
    engine = sa.create_engine(postgres_server_url)
    try:
        with engine.connect() as conn:
            found = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_database WHERE datname = %(n)s", {"n": name}
            ).scalar_one()
        assert found == 1
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_database_given_back_is_empty_and_out_of_reach_of_old_sessions(
    postgres_databases: DatabasePool,
) -> None:
    """The pool hands a database to the next test under a new name, without its tables, and a
    session the last test left open can neither stay nor come back."""
    name = postgres_databases.take()
    engine = sa.create_engine(postgres_databases.url(name))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE left_over (id int)")
        lingering = engine.connect()  # a session the test forgot
        postgres_databases.give_back(name)
        reused = postgres_databases.take()
        assert reused != name
        with sa.create_engine(postgres_databases.url(reused), poolclass=NullPool).connect() as conn:
            tables = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).scalar_one()
        assert tables == 0
        with pytest.raises(sa.exc.OperationalError):
            lingering.exec_driver_sql("SELECT 1")
        lingering.invalidate()
        with pytest.raises(sa.exc.OperationalError, match="does not exist"):
            engine.connect()
        postgres_databases.give_back(reused)
    finally:
        engine.dispose()


def test_redis_ping(redis_url: str) -> None:
    """The Redis test database answers PING and keeps a value."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        assert client.ping()
        client.set("batchkernel:smoke", "1", ex=60)
        assert client.get("batchkernel:smoke") == b"1"
    finally:
        client.close()
