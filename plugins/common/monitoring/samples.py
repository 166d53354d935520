"""One sample of the monitoring totals a minute, kept in ``metrics_samples`` so the console's
charts have history across restarts and instances.

Whichever process gets to a minute first (a scheduler after a cycle, or ``serve``) writes it;
the row's key is the minute, so the others' inserts do nothing. Samples older than
:data:`KEEP_DAYS` are dropped as new ones are written. The writer has its own small engine, so
its queries never count towards the pipeline's measured queries per cycle.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from kernel.db.engine import Database
from plugins.common.monitoring.queries import as_utc, batch_totals, request_totals
from plugins.common.schema.models import MetricsSample
from plugins.common.schema.statuses import IN_FLIGHT_BATCH_STATUSES, RequestStatus

KEEP_DAYS = 35
MAX_POINTS = 24 * 60


def minute_of(moment: datetime) -> datetime:
    """The minute a moment falls in (UTC, seconds dropped)."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def measure(conn: Connection) -> dict[str, Any]:
    """The figures one sample holds, in two set-based statements."""
    totals = request_totals(conn)
    batches = batch_totals(conn)
    states = totals.by_state
    return {
        "pending": states.get(RequestStatus.PENDING_BATCHING.value, 0),
        "in_flight": states.get(RequestStatus.BATCHING_IN_PROGRESS.value, 0),
        "complete": states.get(RequestStatus.PROCESSING_COMPLETE.value, 0),
        "failed": states.get(RequestStatus.PROCESSING_FAILED.value, 0),
        "batches_open": sum(batches.get(s.value, 0) for s in IN_FLIGHT_BATCH_STATUSES),
        "input_tokens": totals.input_tokens,
        "output_tokens": totals.output_tokens,
        "cost_usd": totals.cost_usd,
    }


class SampleWriter:
    """Writes at most one sample a minute per process, on its own one-connection engine."""

    def __init__(self, url: Any) -> None:
        self._url = url
        self._db: Database | None = None
        self._last: datetime | None = None
        self._lock = threading.Lock()

    def _database(self) -> Database:
        """The writer's own engine, made on first use; it never creates a missing database file
        (a database without a schema has nothing to sample)."""
        if self._db is None:
            self._db = Database(
                self._url.render_as_string(hide_password=False), pool_size=1, create_missing=False
            )
        return self._db

    def maybe_write(self, now: datetime | None = None) -> bool:
        """Write this minute's sample unless this process (or another) did; True if written."""
        minute = minute_of(now or datetime.now(UTC))
        with self._lock:
            if self._last == minute:
                return False
            written = write_sample(self._database(), minute)
            self._last = minute
            return written

    def close(self) -> None:
        """Close the engine."""
        if self._db is not None:
            self._db.dispose()
            self._db = None


def write_sample(db: Database, minute: datetime) -> bool:
    """Insert the sample for ``minute`` if nobody has; drop samples past :data:`KEEP_DAYS`."""
    with db.transaction() as session:
        conn = session.connection()
        exists = conn.execute(
            select(MetricsSample.minute).where(MetricsSample.minute == minute)
        ).first()
        if exists is not None:
            return False
        values = {"minute": minute, **measure(conn)}
        insert = pg_insert if db.is_postgres else sqlite_insert
        written = conn.execute(
            insert(MetricsSample).values(**values).on_conflict_do_nothing(index_elements=["minute"])
        ).rowcount
        conn.execute(
            delete(MetricsSample).where(MetricsSample.minute < minute - timedelta(days=KEEP_DAYS))
        )
    return bool(written)


def series(
    conn: Connection, *, minutes: int = 60, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The samples of the last ``minutes`` (at most :data:`MAX_POINTS`), oldest first."""
    cutoff = minute_of(now or datetime.now(UTC)) - timedelta(minutes=min(minutes, MAX_POINTS))
    s = MetricsSample
    rows = conn.execute(
        select(s).where(s.minute >= cutoff).order_by(s.minute).limit(MAX_POINTS + 1)
    ).all()
    out = []
    for row in rows:
        data = dict(row._mapping)
        moment = as_utc(data.pop("minute"))
        assert moment is not None
        out.append({"minute": moment.strftime("%Y-%m-%dT%H:%M:00Z"), **data})
    return out
