"""``batchkernel import``: sessions from JSONL into the database, set-based, idempotent, line-checked.

One session a line::

    {"company": "acme", "company_name": "Acme", "session_id": "s-1",
     "start_time": "2026-11-01T09:00:00Z",
     "messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}

Lines are read in chunks; each chunk costs a fixed number of statements whatever its size. A bad
line is reported with its number and reason and everything else is kept. Sessions already in the
database (same company and session id) are left alone, so re-importing a file changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import insert, select, tuple_

from kernel.db.models import AIProcessingRequest, ChatSession, Company, Message, new_id, utcnow
from kernel.text import transcript_size
from kernel.types import CompanyStatus

CHUNK_LINES = 2000


@dataclass(frozen=True, slots=True)
class Problem:
    """One line that was not imported, and why."""

    line: int
    reason: str


@dataclass(slots=True)
class ImportReport:
    """What an import did."""

    lines: int = 0
    sessions_created: int = 0
    sessions_existing: int = 0
    requests_created: int = 0
    companies_created: int = 0
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A validated import line."""

    line: int
    company: str
    company_name: str
    session_id: str
    start_time: datetime
    messages: tuple[tuple[str, str, datetime | None], ...]


def _clean(text: str) -> str:
    """Drop NUL characters, which PostgreSQL text cannot hold; keep everything else."""
    return text.replace("\x00", "")


def _time(value: Any, what: str) -> datetime:
    """Parse an ISO 8601 timestamp (naive ones are UTC)."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not an ISO 8601 timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_line(number: int, raw: bytes) -> SessionRecord:
    """Validate one line; raises ValueError with the reason."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    company = data.get("company")
    if not isinstance(company, str) or not company.strip() or len(company) > 64:
        raise ValueError("field 'company' must be a non-empty string of at most 64 characters")
    session_id = data.get("session_id")
    if isinstance(session_id, int):
        session_id = str(session_id)
    if not isinstance(session_id, str) or not session_id.strip() or len(session_id) > 255:
        raise ValueError("field 'session_id' must be a non-empty string of at most 255 characters")
    if "start_time" not in data:
        raise ValueError("field 'start_time' is missing")
    start = _time(data["start_time"], "start_time")
    messages = data.get("messages")
    if not isinstance(messages, list):
        raise ValueError("field 'messages' must be a list")
    parsed = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ValueError(f"messages[{index}] is not an object")
        role, content = message.get("role"), message.get("content")
        if not isinstance(role, str) or not role.strip() or len(role) > 50:
            raise ValueError(f"messages[{index}].role must be a non-empty string")
        if not isinstance(content, str):
            raise ValueError(f"messages[{index}].content must be a string")
        sent = message.get("timestamp")
        parsed.append(
            (
                _clean(role.strip()),
                _clean(content),
                _time(sent, f"messages[{index}].timestamp") if sent else None,
            )
        )
    name = data.get("company_name")
    return SessionRecord(
        number,
        _clean(company.strip()),
        _clean(name.strip()) if isinstance(name, str) and name.strip() else company.strip(),
        _clean(session_id.strip()),
        start,
        tuple(parsed),
    )


def _chunks(path: Path, report: ImportReport) -> Iterator[list[SessionRecord]]:
    """Validated records in chunks; bad lines go to the report."""
    chunk: list[SessionRecord] = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            report.lines = number
            if not raw.strip():
                continue
            try:
                chunk.append(parse_line(number, raw))
            except ValueError as exc:
                report.problems.append(Problem(number, str(exc)))
            if len(chunk) >= CHUNK_LINES:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def import_records(kernel: Any, records: Iterable[SessionRecord], report: ImportReport) -> None:
    """Insert one chunk of distinct records: companies, sessions, messages, requests, set-based."""
    settings = kernel.settings
    processing_type = str(settings.processing.processing_type)
    model = str(settings.model.name)
    unique = list(records)
    if not unique:
        return
    now = utcnow()
    with kernel.db.transaction() as session:
        company_ids = {r.company for r in unique}
        existing = set(session.scalars(select(Company.id).where(Company.id.in_(company_ids))))
        new_companies: dict[str, str] = {}
        for r in unique:
            if r.company not in existing and new_companies.get(r.company, r.company) == r.company:
                new_companies[r.company] = r.company_name
        if new_companies:
            session.execute(
                insert(Company),
                [
                    {
                        "id": cid,
                        "name": name,
                        "status": CompanyStatus.ACTIVE.value,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for cid, name in new_companies.items()
                ],
            )
            report.companies_created += len(new_companies)
        keys = [(r.company, r.session_id) for r in unique]
        present = {
            tuple(row)
            for row in session.execute(
                select(ChatSession.company_id, ChatSession.external_id).where(
                    tuple_(ChatSession.company_id, ChatSession.external_id).in_(keys)
                )
            )
        }
        fresh = [r for r in unique if (r.company, r.session_id) not in present]
        report.sessions_existing += len(unique) - len(fresh)
        if not fresh:
            return
        ids = {(r.company, r.session_id): new_id() for r in fresh}
        sizes = {
            (r.company, r.session_id): transcript_size((m[0], m[1]) for m in r.messages)
            for r in fresh
        }
        session.execute(
            insert(ChatSession),
            [
                {
                    "id": ids[(r.company, r.session_id)],
                    "company_id": r.company,
                    "external_id": r.session_id,
                    "start_time": r.start_time,
                    "message_count": len(r.messages),
                    "transcript_chars": sizes[(r.company, r.session_id)][0],
                    "transcript_bytes": sizes[(r.company, r.session_id)][1],
                    "created_at": now,
                }
                for r in fresh
            ],
        )
        messages = [
            {
                "session_id": ids[(r.company, r.session_id)],
                "position": position,
                "role": role,
                "content": content,
                "sent_at": sent,
            }
            for r in fresh
            for position, (role, content, sent) in enumerate(r.messages)
        ]
        if messages:
            session.execute(insert(Message), messages)
        requests = [
            {
                "id": new_id(),
                "session_id": ids[(r.company, r.session_id)],
                "company_id": r.company,
                "processing_type": processing_type,
                "model": model,
                "requested_at": now,
                "available_at": now,
            }
            for r in fresh
            if r.messages
        ]
        for r in fresh:
            if not r.messages:
                report.problems.append(
                    Problem(r.line, "session has no messages: imported, but nothing to analyse")
                )
        if requests:
            session.execute(insert(AIProcessingRequest), requests)
        report.sessions_created += len(fresh)
        report.requests_created += len(requests)


def import_file(kernel: Any, path: Path) -> ImportReport:
    """Import a JSONL file; returns counts and every problem line."""
    report = ImportReport()
    seen: dict[tuple[str, str], int] = {}
    created_before = report.companies_created
    for chunk in _chunks(path, report):
        _import_chunk(kernel, chunk, report, seen)
    if report.companies_created > created_before:
        kernel.companies_changed(sorted({company for company, _ in seen}))
    report.problems.sort(key=lambda p: p.line)
    return report


def _import_chunk(
    kernel: Any, chunk: list[SessionRecord], report: ImportReport, seen: dict[tuple[str, str], int]
) -> None:
    """Drop in-file duplicates against ``seen``, then insert the chunk."""
    fresh = []
    for record in chunk:
        key = (record.company, record.session_id)
        if key in seen:
            report.problems.append(
                Problem(record.line, f"repeats session {record.session_id!r} of line {seen[key]}")
            )
            continue
        seen[key] = record.line
        fresh.append(record)
    import_records(kernel, fresh, report)
