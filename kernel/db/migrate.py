"""The Alembic migrations (the kernel's and the plugins'), run under a lock (PostgreSQL advisory lock, or
a file beside the SQLite file) so commands started at once on a fresh database migrate it once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from alembic import command
from alembic.config import Config
from filelock import FileLock
from sqlalchemy import text

from kernel.db.engine import Database
from kernel.settingspec import collect_declarations

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
ADVISORY_LOCK_KEY = 0x626B_6D69_6772  # "bkmigr": this program's migration lock
SQLITE_LOCK_SUFFIX = ".migrate.lock"


def alembic_config(database: Database | None = None) -> Config:
    """An Alembic config of one history: the kernel's revisions and those every plugin declares
    (``migration_locations``), for ``database`` when given."""
    locations = [str(MIGRATIONS_DIR / "versions"), *collect_declarations().migrations]
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(dict.fromkeys(locations)))
    if database is not None:
        config.attributes["engine"] = database.engine
    return config


@contextmanager
def _advisory_lock(database: Database) -> Iterator[None]:
    """Hold PostgreSQL's advisory lock for migrations, waiting with no statement timeout."""
    with database.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("SET statement_timeout = 0"))
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
            conn.execute(text("RESET statement_timeout"))


def sqlite_lock_path(database: Database) -> Path | None:
    """The lock file of a SQLite database file; None for an in-memory database."""
    name = database.url.database or ""
    if name in ("", ":memory:") or name.startswith("file::memory:"):
        return None
    path = Path(name).expanduser().resolve()
    return path.with_name(path.name + SQLITE_LOCK_SUFFIX)


def migration_lock(database: Database) -> AbstractContextManager[object]:
    """The lock every migration of ``database`` runs under."""
    if database.is_postgres:
        return _advisory_lock(database)
    path = sqlite_lock_path(database)
    return FileLock(str(path)) if path is not None else nullcontext()


def upgrade(database: Database, revision: str = "heads") -> None:
    """Create or migrate the schema up to ``revision`` (every branch's newest: the kernel's and
    product's history, and each third-party plugin's own branch), one process at a time."""
    database.allow_create()
    with migration_lock(database):
        command.upgrade(alembic_config(database), revision)
