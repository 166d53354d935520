"""The schema revisions this installation ships and those a database has: what the commands'
readiness checks compare (the kernel's migration runner, :mod:`kernel.db.migrate`, reads none)."""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING

from kernel.db.engine import Database
from kernel.db.migrate import alembic_config

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory


def _scripts() -> ScriptDirectory:
    """The revisions this installation ships: the kernel's and those every plugin declares."""
    return _scripts_on(tuple(sys.path))


@functools.lru_cache(maxsize=8)
def _scripts_on(path: tuple[str, ...]) -> ScriptDirectory:
    """The revisions found on the import path ``path``: read once per path, as a command's
    readiness check asks three times and each read parses every revision file."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def current_heads(database: Database) -> frozenset[str]:
    """The newest revision of each branch the database has; empty before the first migration.

    Alembic's version table may leave out the revision a plugin's branch ``depends_on`` (it
    keeps the plugin's first revision alone when that one followed ``0008``): each branch's newest
    applied revision is put back, so an up-to-date database's heads equal :func:`shipped_heads`.
    A revision this installation does not ship is returned as it is."""
    from alembic.runtime.migration import MigrationContext

    with database.engine.connect() as conn:
        stored = frozenset(MigrationContext.configure(conn).get_current_heads())
    scripts = _scripts()
    known = stored & {script.revision for script in scripts.walk_revisions()}
    applied = {
        script.revision: script for script in scripts.iterate_revisions(tuple(known), "base")
    }
    newest = {name for name, script in applied.items() if script.nextrev.isdisjoint(applied)}
    return frozenset(newest) | (stored - known)


def shipped_heads() -> frozenset[str]:
    """The newest revision of each branch this installation ships: the built-in history's and
    each installed third-party plugin's."""
    return frozenset(_scripts().get_heads())


def known_revisions() -> set[str]:
    """Every revision this installation ships (the built-in history and installed plugins')."""
    return {script.revision for script in _scripts().walk_revisions()}
