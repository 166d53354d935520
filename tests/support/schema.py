"""The head schema for a test's fresh database, from a copy this worker migrated once.

Running the eight Alembic migrations costs a test 0.1-0.7 s and most tests only need their
result, so each worker runs the real migrations once (into a SQLite file, and into a PostgreSQL
database it then dumps with ``pg_dump --schema-only``) and copies that into every fresh database
a test asks to migrate. A database that already holds tables gets the real ``upgrade``, and
``tests/test_migrations.py`` keeps testing the migrations themselves.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from kernel.db.engine import Database
from kernel.db.migrate import upgrade


class SchemaCopies:
    """Per worker: the migrated SQLite template file and PostgreSQL schema script, made lazily."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._sqlite: Path | None = None
        self._postgres_script: str | None = None

    def migrate(self, database: Database) -> None:
        """Give ``database`` the head schema: a copy when it is empty, else the real migrations."""
        if database.is_postgres:
            self._migrate_postgres(database)
        else:
            self._migrate_sqlite(database)

    def _migrate_sqlite(self, database: Database) -> None:
        path = database.file
        if path is None or (path.exists() and path.stat().st_size > 0):
            upgrade(database)
            return
        database.allow_create()
        template = self._sqlite_template()
        source, target = sqlite3.connect(template), sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()

    def _sqlite_template(self) -> Path:
        if self._sqlite is None:
            path = self.directory / "schema-template.db"
            path.unlink(missing_ok=True)
            template = Database(f"sqlite:///{path}")
            try:
                upgrade(template)
            finally:
                template.dispose()
            self._sqlite = path
        return self._sqlite

    def _migrate_postgres(self, database: Database) -> None:
        with database.engine.connect() as conn:
            tables = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).scalar_one()
        script = self._postgres_schema(database) if tables == 0 else None
        if script is None:
            upgrade(database)
            return
        with database.engine.connect() as conn:
            conn.exec_driver_sql(script)
            conn.commit()
        database.dispose()  # the script changed the session's search_path: drop that connection

    def _postgres_schema(self, database: Database) -> str | None:
        """The head schema as SQL (None when pg_dump is missing: the caller migrates for real)."""
        if self._postgres_script is None:
            if shutil.which("pg_dump") is None:
                return None
            self._postgres_script = _dump_head_schema(database)
        return self._postgres_script


def _dump_head_schema(database: Database) -> str:
    """Migrate a scratch database on ``database``'s server for real and dump its schema."""
    server = make_url(database.url.render_as_string(hide_password=False))
    name = f"{server.database}_schema_{uuid4().hex[:8]}"
    admin = sa.create_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    scratch_url = server.set(database=name)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        scratch = Database(scratch_url.render_as_string(hide_password=False))
        try:
            upgrade(scratch)
            with scratch.engine.connect() as conn:
                stored = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        finally:
            scratch.dispose()
        dump = subprocess.run(
            [
                "pg_dump",
                "--schema-only",
                "--no-owner",
                "--no-privileges",
                "--dbname",
                _libpq(scratch_url),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    lines = [line for line in dump.splitlines() if not line.startswith("\\")]  # psql meta-commands
    versions = [  # pg_dump --schema-only leaves the rows out: one per head Alembic stored
        f"INSERT INTO public.alembic_version (version_num) VALUES ('{head}');" for (head,) in stored
    ]
    return "\n".join([*lines, *versions])


def _libpq(url: sa.URL) -> str:
    """The libpq connection string of a SQLAlchemy URL (pg_dump does not read driver names)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
