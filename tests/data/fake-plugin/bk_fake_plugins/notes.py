"""A third-party plugin that owns a table, ``fake_notes``: its revisions live in its own folder,
declared through ``migration_locations``, on their own Alembic branch (``fake-notes``)."""

from pathlib import Path

from kernel import hookimpl

MIGRATIONS = Path(__file__).with_name("notes_migrations")


@hookimpl
def migration_locations() -> list[str]:
    """The folder of this plugin's revisions."""
    return [str(MIGRATIONS)]
