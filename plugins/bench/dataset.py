"""The benchmark's data: one synthetic data set imported once into a template database, then
copied for every run (SQLite: a file copy after a WAL checkpoint; PostgreSQL: CREATE DATABASE
... TEMPLATE), so every run starts from the very same rows."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from kernel.db.migrate import upgrade
from kernel.manager import Kernel
from kernel.settings import load_settings
from plugins.bench.options import DataSpec
from plugins.common.importing.importer import import_file
from plugins.common.synthetic import write_jsonl


def _render(url: URL) -> str:
    """A URL as a string, password kept (it is handed to our own child processes only)."""
    return url.render_as_string(hide_password=False)


@dataclass(slots=True)
class Template:
    """A database holding the imported data set, and how to copy it."""

    url: URL
    admin: URL

    @property
    def is_sqlite(self) -> bool:
        """True for a SQLite file."""
        return self.url.get_backend_name() == "sqlite"

    def copy(self, name: str) -> str:
        """A fresh copy of the template; returns its URL."""
        if self.is_sqlite:
            source = Path(self.url.database or "")
            target = source.with_name(f"{source.stem}-{name}.db")
            drop_sqlite(target)
            shutil.copyfile(source, target)
            return _render(self.url.set(database=str(target)))
        copy_name = f"{self.url.database}_{name}"
        _admin(self.admin, f'DROP DATABASE IF EXISTS "{copy_name}" WITH (FORCE)')
        _admin(self.admin, f'CREATE DATABASE "{copy_name}" TEMPLATE "{self.url.database}"')
        return _render(self.url.set(database=copy_name))

    def drop_copy(self, url: str) -> None:
        """Remove a copy made by ``copy``."""
        parsed = make_url(url)
        if self.is_sqlite:
            drop_sqlite(Path(parsed.database or ""))
        else:
            _admin(self.admin, f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')

    def drop(self) -> None:
        """Remove the template itself."""
        self.drop_copy(_render(self.url))


def drop_sqlite(path: Path) -> None:
    """Delete a SQLite database with its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _admin(url: URL, statement: str) -> None:
    """Run one statement through the database the user named, outside a transaction."""
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def template_url(database: str | None, workdir: Path, spec: DataSpec) -> URL:
    """Where the template goes: a SQLite file in ``workdir`` or a new database on the given server."""
    if database is None:
        return make_url(f"sqlite:///{workdir / f'bench-{spec.label()}.db'}")
    url = make_url(database)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or workdir / "bench.db")
        return url.set(database=str(path.with_name(f"{path.stem}-{spec.label()}.db")))
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    suffix = uuid.uuid4().hex[:8]
    return url.set(database=f"bk_bench_{spec.sessions}_{suffix}")


def build_template(database: str | None, workdir: Path, spec: DataSpec) -> Template:
    """Import the synthetic data set into a new template database and settle it for copying."""
    workdir.mkdir(parents=True, exist_ok=True)
    url = template_url(database, workdir, spec)
    admin = make_url(database) if database else url
    if admin.drivername == "postgresql":
        admin = admin.set(drivername="postgresql+psycopg")
    template = Template(url, admin)
    if template.is_sqlite:
        drop_sqlite(Path(url.database or ""))
    else:
        _admin(admin, f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        _admin(admin, f'CREATE DATABASE "{url.database}"')
    source = workdir / f"sessions-{spec.label()}.jsonl"
    write_jsonl(
        source,
        spec.companies,
        spec.sessions,
        seed=spec.seed,
        messages=spec.messages,
        message_chars=spec.message_chars,
    )
    settings = load_settings(
        {
            "database.url": _render(url),
            "plugins.autoload": False,
            "plugins.cache": "none",
            "batch.workdir": str(workdir / "files"),
        }
    )
    kernel = Kernel.create(settings)
    try:
        upgrade(kernel.db)
        report = import_file(kernel, source)
        if report.requests_created != spec.sessions:
            raise RuntimeError(
                f"the data set imported {report.requests_created} requests, not {spec.sessions}: "
                f"{report.problems[:3]}"
            )
    finally:
        kernel.close()
        source.unlink(missing_ok=True)
    settle(url)
    return template


def settle(url: URL) -> None:
    """Statistics for the planner, and (SQLite) everything checkpointed into the main file."""
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database or "")
        try:
            conn.execute("ANALYZE")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        return
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()
