"""Migrations: ``db upgrade`` works on both databases and matches the models exactly."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import plugins.common.schema.models as schema
from kernel.db.engine import Database
from kernel.db.migrate import current_revision, upgrade

METADATA = schema.Base.metadata
"""The kernel's tables and the product's (importing the schema's models registers them)."""


def test_upgrade_creates_every_table_and_is_repeatable(db_url: str) -> None:
    database = Database(db_url)
    try:
        assert current_revision(database) is None
        upgrade(database)
        upgrade(database)
        tables = set(inspect(database.engine).get_table_names())
        assert set(METADATA.tables) <= tables
        assert current_revision(database) == "0008"
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
