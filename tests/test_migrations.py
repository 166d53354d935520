"""Migrations: ``db upgrade`` works on both databases and matches the models exactly; a
third-party plugin's tables live on its own branch beside the built-in history."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

import plugins.common.schema.models as schema
from kernel.db.engine import Database
from kernel.db.migrate import upgrade
from plugins.cli.readiness import schema_heads, schema_problem
from plugins.cli.revisions import current_heads, shipped_heads
from tests.cli.support import batchkernel, clean_env

METADATA = schema.Base.metadata
"""The kernel's tables and the product's (importing the schema's models registers them)."""


def test_upgrade_creates_every_table_and_is_repeatable(db_url: str) -> None:
    database = Database(db_url)
    try:
        assert current_heads(database) == frozenset()
        upgrade(database)
        upgrade(database)
        tables = set(inspect(database.engine).get_table_names())
        assert set(METADATA.tables) <= tables
        assert current_heads(database) == shipped_heads() == {"0008"}
        assert stored_versions(database) == ["0008"], "one history, one row, as before branches"
        assert "fake_notes" not in tables
        assert schema_problem(schema_heads(database)) is None
    finally:
        database.dispose()


def test_models_and_migrations_agree(db_url: str) -> None:
    database = Database(db_url)
    try:
        upgrade(database)
        with database.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, METADATA)
        assert diff == []
    finally:
        database.dispose()


def test_pending_index_is_partial(db_url: str) -> None:
    database = Database(db_url)
    try:
        upgrade(database)
        indexes = {
            ix["name"]: ix for ix in inspect(database.engine).get_indexes("ai_processing_requests")
        }
        assert "ix_ai_processing_requests_pending" in indexes
        assert {
            "ix_ai_processing_requests_status_requested_at",
            "ix_ai_processing_requests_batch_id",
            "ix_ai_processing_requests_status_batch_id",
        } <= set(indexes)
        options: Any = indexes["ix_ai_processing_requests_pending"].get("dialect_options", {})
        where = options.get("postgresql_where") or options.get("sqlite_where")
        if database.is_postgres:
            assert "PENDING_BATCHING" in str(where)
    finally:
        database.dispose()


def stored_versions(database: Database) -> list[str]:
    """The rows of Alembic's version table, in order."""
    with database.engine.connect() as conn:
        return sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def add_note(database: Database) -> None:
    """A company and a note of it in ``fake_notes``."""
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO companies (id, name, status, created_at, updated_at) "
                "VALUES ('c1', 'C1', 'ACTIVE', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(text("INSERT INTO fake_notes (company_id, text) VALUES ('c1', 'kept')"))


def notes(database: Database) -> list[str]:
    with database.engine.connect() as conn:
        return list(conn.execute(text("SELECT text FROM fake_notes")).scalars())


PLUGIN_HEADS = {"0008", "fake_notes_0001"}
"""The built-in history's head and the fake-notes plugin's branch (``depends_on`` 0008)."""
UNKNOWN = (
    "the database schema is at revision fake_notes_0001, which this installation of batchkernel "
    "does not ship (a newer version of batchkernel, or a plugin that is not installed here, "
    "migrated it): upgrade batchkernel, or install that plugin"
)


def test_a_plugin_branch_migrates_beside_the_built_in_history(
    db_url: str, fake_distribution: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(db_url)
    try:
        assert shipped_heads() == PLUGIN_HEADS
        upgrade(database)
        tables = set(inspect(database.engine).get_table_names())
        assert {"fake_notes", *METADATA.tables} <= tables
        assert current_heads(database) == PLUGIN_HEADS
        assert schema_problem(schema_heads(database)) is None, "up to date"

        add_note(database)
        versions = stored_versions(database)
        upgrade(database)
        assert stored_versions(database) == versions, "the second upgrade is a no-op"
        assert set(inspect(database.engine).get_table_names()) == tables
        assert notes(database) == ["kept"]

        with monkeypatch.context() as uninstalled:
            uninstalled.setattr(sys, "path", [p for p in sys.path if p != str(fake_distribution)])
            assert shipped_heads() == {"0008"}
            assert schema_problem(schema_heads(database)) == UNKNOWN
        assert schema_problem(schema_heads(database)) is None, "installed again: up to date"
        assert notes(database) == ["kept"]
    finally:
        database.dispose()


def test_a_built_in_database_takes_a_newly_installed_plugins_branch(
    db_url: str, request: pytest.FixtureRequest
) -> None:
    database = Database(db_url)
    try:
        upgrade(database)
        request.getfixturevalue("fake_distribution")
        assert current_heads(database) == {"0008"}
        assert schema_problem(schema_heads(database)) == (
            "the database schema is at revision 0008, older than this installation's (revisions "
            "0008 and fake_notes_0001): run `batchkernel db upgrade`"
        )
        upgrade(database)
        assert current_heads(database) == PLUGIN_HEADS
        assert "fake_notes" in inspect(database.engine).get_table_names()
        assert schema_problem(schema_heads(database)) is None
    finally:
        database.dispose()


def test_db_upgrade_names_the_heads_and_refuses_revisions_nobody_ships(
    db_url: str, tmp_path: Path, fake_distribution: Path
) -> None:
    env = clean_env(tmp_path, BATCHKERNEL_DATABASE__URL=db_url)
    installed = env | {"PYTHONPATH": str(fake_distribution)}
    dialect = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    upgraded = batchkernel("db", "upgrade", env=installed, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stderr == f"schema at revisions 0008 and fake_notes_0001 ({dialect})\n"
    again = batchkernel("db", "upgrade", env=installed, cwd=tmp_path)
    assert again.returncode == 0 and again.stderr == upgraded.stderr, again.stderr

    for args in (["db", "upgrade"], ["status"]):
        refused = batchkernel(*args, env=env, cwd=tmp_path)
        assert refused.returncode != 0, refused.stdout
        assert "Traceback" not in refused.stderr, refused.stderr
        assert UNKNOWN in refused.stderr.replace("\n", " "), refused.stderr
