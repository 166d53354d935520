"""One chunk of checked records into the database in one transaction, set-based.

At most ten statements whatever the chunk's size: companies, present sessions, their messages
(to tell changed content), new sessions, and with ``--update`` the changed sessions' request
locks, session update, message deletion and the requests' re-enqueue; then all messages and
all new requests. Inserts skip rows another importer committed first (``ON CONFLICT DO
NOTHING``), so concurrent imports of the same companies and sessions both succeed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, null, select, tuple_, update
from sqlalchemy.orm import Session

from kernel.api import KernelAPI
from kernel.db.models import utcnow
from kernel.db.rowcount import rowcount
from kernel.types import ConfigError
from plugins.common import calls
from plugins.common.importing.lines import MessageLine, SessionRecord
from plugins.common.importing.report import ImportReport, Problem
from plugins.common.rowsets import insert_rows, update_rows
from plugins.common.schema.models import AIProcessingRequest, ChatSession, Company, Message, new_id
from plugins.common.schema.statuses import CompanyStatus, RequestStatus

ANALYSIS = (
    "sentiment",
    "category",
    "summary",
    "language",
    "escalated",
    "forwarded_hr",
    "questions",
    "analyzed_at",
)
REQUEST_COLUMNS = (
    "id",
    "session_id",
    "company_id",
    "processing_type",
    "model",
    "status",
    "attempts",
    "requested_at",
    "available_at",
)
SESSION_COLUMNS = (
    "id",
    "company_id",
    "external_id",
    "start_time",
    "message_count",
    "transcript_chars",
    "transcript_bytes",
    "created_at",
)
REQUEUE = {
    "status": RequestStatus.PENDING_BATCHING,
    "attempts": 0,
    "batch_id": None,
    "error": None,
    "completed_at": None,
    "result_json": None,
}


@dataclass(frozen=True, slots=True)
class Stored:
    """A session already in the database: its row id, start and messages."""

    id: str
    start_time: datetime | None
    messages: list[MessageLine]


def _utc(value: datetime | None) -> datetime | None:
    """A stored time as aware UTC (SQLite hands back naive UTC values)."""
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def differences(record: SessionRecord, stored: Stored) -> list[str]:
    """Which of start_time and messages differ between the line and the database."""
    found = []
    if _utc(stored.start_time) != record.start_time:
        found.append("start_time")
    if stored.messages != list(record.messages):
        found.append("messages")
    return found


class ChunkWriter:
    """Writes chunks for one import: settings read once, one transaction per call."""

    def __init__(self, kernel: KernelAPI, *, update: bool) -> None:
        self.db = kernel.db
        tasks = calls.tasks(kernel)
        default_model = str(kernel.settings.model.name)
        self.models = {name: task.model or default_model for name, task in tasks.items()}
        self.default_tasks = tuple(str(n) for n in kernel.settings.processing.default_tasks)
        unknown = [name for name in self.default_tasks if name not in tasks]
        if unknown:
            raise ConfigError(
                f"processing.default_tasks names unknown task {', '.join(unknown)}; defined "
                f"tasks: {', '.join(sorted(tasks))}"
            )
        self.update = update

    def write(self, records: Sequence[SessionRecord]) -> ImportReport:
        """Write ``records`` (distinct sessions) in one transaction; returns what it did."""
        result = ImportReport(update=self.update)
        if not records:
            return result
        now = utcnow()
        with self.db.transaction() as session:
            result.companies_created = self._companies(session, records, now)
            stored = self._stored(session, records)
            fresh = [r for r in records if r.key not in stored]
            ids = {r.key: new_id() for r in fresh}
            inserted = self._insert_sessions(session, fresh, ids, now)
            result.sessions_existing += len(fresh) - len(inserted)
            changed = self._sort_present(records, stored, result)
            replaced = self._replace(session, changed, stored, now, result) if changed else []
            targets = [(ids[r.key], r) for r in fresh if ids[r.key] in inserted] + replaced
            insert_rows(
                session,
                Message.__table__,
                ("session_id", "position", "role", "content", "sent_at"),
                [
                    (session_id, position, role, content, sent)
                    for session_id, record in targets
                    for position, (role, content, sent) in enumerate(record.messages)
                ],
            )
            created = insert_rows(
                session,
                AIProcessingRequest.__table__,
                REQUEST_COLUMNS,
                [
                    (
                        new_id(),
                        session_id,
                        record.company,
                        task,
                        self.models[task],
                        RequestStatus.PENDING_BATCHING,
                        0,
                        now,
                        now,
                    )
                    for session_id, record in targets
                    if record.messages
                    for task in record.tasks or self.default_tasks
                ],
                skip_conflicts=("session_id", "processing_type"),
                returning=(AIProcessingRequest.__table__.c.id,),
            )
        result.requests_created = len(created)
        result.sessions_created = len(inserted)
        result.notes.extend(
            Problem(r.line, "session has no messages: imported, but nothing to analyse")
            for r in fresh
            if ids[r.key] in inserted and not r.messages
        )
        return result

    def _companies(self, session: Session, records: Sequence[SessionRecord], now: Any) -> int:
        """Create the companies not there yet, named by the chunk's first line that gives a
        name (else by their id); returns how many were new."""
        names: dict[str, str] = {}
        for record in records:
            if names.get(record.company, record.company) == record.company:
                names[record.company] = record.company_name
        created = insert_rows(
            session,
            Company.__table__,
            ("id", "name", "status", "weight", "created_at", "updated_at"),
            [
                (company, names[company], CompanyStatus.ACTIVE.value, 1.0, now, now)
                for company in sorted(names)
            ],
            skip_conflicts=("id",),
            returning=(Company.__table__.c.id,),
        )
        return len(created)

    def _stored(
        self, session: Session, records: Sequence[SessionRecord]
    ) -> dict[tuple[str, str], Stored]:
        """The chunk's sessions already in the database, with their messages."""
        s = ChatSession
        rows = session.execute(
            select(s.id, s.company_id, s.external_id, s.start_time).where(
                tuple_(s.company_id, s.external_id).in_([r.key for r in records])
            )
        ).all()
        if not rows:
            return {}
        messages: dict[str, list[MessageLine]] = {row.id: [] for row in rows}
        m = Message
        for row in session.execute(
            select(m.session_id, m.role, m.content, m.sent_at)
            .where(m.session_id.in_(list(messages)))
            .order_by(m.session_id, m.position)
        ):
            messages[row.session_id].append((row.role, row.content, _utc(row.sent_at)))
        return {
            (row.company_id, row.external_id): Stored(row.id, row.start_time, messages[row.id])
            for row in rows
        }

    def _insert_sessions(
        self,
        session: Session,
        fresh: Sequence[SessionRecord],
        ids: dict[tuple[str, str], str],
        now: Any,
    ) -> set[str]:
        """Insert new sessions in key order; returns the ids of those this import created
        (another importer may have committed some of them first)."""
        rows = [
            (
                ids[r.key],
                r.company,
                r.session_id,
                r.start_time,
                len(r.messages),
                r.transcript_chars,
                r.transcript_bytes,
                now,
            )
            for r in sorted(fresh, key=lambda r: r.key)
        ]
        returned = insert_rows(
            session,
            ChatSession.__table__,
            SESSION_COLUMNS,
            rows,
            skip_conflicts=("company_id", "external_id"),
            returning=(ChatSession.__table__.c.id,),
        )
        return {row.id for row in returned}

    def _sort_present(
        self,
        records: Sequence[SessionRecord],
        stored: dict[tuple[str, str], Stored],
        result: ImportReport,
    ) -> list[SessionRecord]:
        """Count present sessions as unchanged or changed; returns those to replace."""
        replace = []
        for record in records:
            if record.key not in stored:
                continue
            differ = differences(record, stored[record.key])
            if not differ:
                result.sessions_existing += 1
            elif not self.update:
                result.sessions_changed += 1
                result.notes.append(
                    Problem(
                        record.line,
                        f"session {record.session_id!r} of {record.company!r} differs from the "
                        f"database ({' and '.join(differ)}): not updated (use --update)",
                    )
                )
            elif not record.messages and stored[record.key].messages:
                result.problems.append(
                    Problem(
                        record.line,
                        f"this line has no messages but session {record.session_id!r} of "
                        f"{record.company!r} has {len(stored[record.key].messages)} in the "
                        "database: not updated (an import never empties a stored transcript)",
                    )
                )
            else:
                replace.append(record)
        return replace

    def _replace(
        self,
        session: Session,
        changed: Sequence[SessionRecord],
        stored: dict[tuple[str, str], Stored],
        now: Any,
        result: ImportReport,
    ) -> list[tuple[str, SessionRecord]]:
        """Replace the content of changed sessions none of whose requests is in a running batch,
        clear their old analysis and re-enqueue their requests; returns (session id, record)."""
        r = AIProcessingRequest
        by_id = {stored[record.key].id: record for record in changed}
        locked = session.execute(
            select(r.session_id, r.status)
            .where(r.session_id.in_(list(by_id)))
            .order_by(r.session_id, r.id)
            .with_for_update()
        ).all()
        busy = {
            row.session_id for row in locked if row.status == RequestStatus.BATCHING_IN_PROGRESS
        }
        for session_id in sorted(busy, key=lambda sid: by_id[sid].line):
            record = by_id[session_id]
            result.sessions_in_flight += 1
            result.notes.append(
                Problem(
                    record.line,
                    f"session {record.session_id!r} of {record.company!r} changed, but a request "
                    "of it is in a running batch: not updated (import again with --update once "
                    "the batch is applied)",
                )
            )
        ready = {sid: record for sid, record in by_id.items() if sid not in busy}
        if not ready:
            return []
        update_rows(
            session,
            ChatSession.__table__,
            "id",
            ("id", "start_time", "message_count", "transcript_chars", "transcript_bytes"),
            [
                (
                    sid,
                    record.start_time,
                    len(record.messages),
                    record.transcript_chars,
                    record.transcript_bytes,
                )
                for sid, record in sorted(ready.items())
            ],
            {name: null() for name in ANALYSIS},
        )
        # After the session rows are locked by the update: a concurrent update of the same
        # session has committed by now, and this delete sees (and replaces) its messages.
        session.execute(delete(Message).where(Message.session_id.in_(list(ready))))
        requeued_result = session.execute(
            update(r)
            .where(r.session_id.in_(list(ready)), r.status != RequestStatus.BATCHING_IN_PROGRESS)
            .values(REQUEUE | {"requested_at": now, "available_at": now})
            .execution_options(synchronize_session=False)
        )
        requeued = rowcount(requeued_result)
        result.sessions_updated += len(ready)
        result.requests_requeued += requeued
        return list(ready.items())
