"""Cut a PostgreSQL connection under a statement, as a restarted server or a terminated backend
would, deterministically: the backend is terminated from another connection just before the
statement runs, so the statement meets a dead connection."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def cut_connections(engine: sa.Engine, times: int, *, matching: str = "") -> list[str]:
    """Terminate the backend of each of the next ``times`` statements (those containing
    ``matching``) just before it runs; returns the statements cut so far."""
    cut: list[str] = []
    admin = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)

    def before(conn: sa.Connection, cursor: Any, statement: str, *_: object) -> None:
        if len(cut) >= times or matching not in statement:
            return
        with admin.connect() as other:
            other.execute(
                sa.text("SELECT pg_terminate_backend(:pid)"),
                {"pid": cursor.connection.info.backend_pid},
            )
        cut.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    return cut
