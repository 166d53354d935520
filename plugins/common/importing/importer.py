"""``batchkernel import``: sessions from JSONL into the database, set-based, idempotent, line-checked.

One session a line::

    {"company": "acme", "company_name": "Acme", "session_id": "s-1",
     "start_time": "2026-11-01T09:00:00Z",
     "messages": [{"role": "user", "content": "...", "timestamp": "2026-11-01T09:00:05+01:00"}]}

Every field is normalised (NUL removed, identifiers trimmed, times moved to UTC) and then checked
against the column that stores it, so a bad line is reported with its number and reason before
anything is written, on SQLite as on PostgreSQL. Lines are written in chunks, each in one
transaction with a fixed number of statements; a chunk the database still refuses is split until
the refused line stands alone, so it never costs the other lines.

A session already in the database (same company and session id) is left alone: counted as
already present when the line holds the same start time and messages, as changed otherwise.
With ``update`` a changed session gets the line's messages and start time, loses its old analysis
and has its requests re-enqueued (attempts reset) — unless one of its requests is in a running
batch, whose results are for the old content: it is then left as it is and reported, to be
updated by importing again once the batch is applied.
"""

from __future__ import annotations

from collections.abc import Collection, Container, Iterator
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from kernel.api import KernelAPI
from kernel.types import KernelError
from plugins.common import calls
from plugins.common.importing.isolate import write_isolating
from plugins.common.importing.lines import SessionRecord, parse_line
from plugins.common.importing.report import ImportReport, Problem
from plugins.common.importing.writer import ChunkWriter

CHUNK_LINES = 2000
CHUNK_BYTES = 32 * 1024 * 1024

__all__ = ["ImportReport", "ImportStopped", "Problem", "SessionRecord", "import_file", "parse_line"]


class ImportStopped(KernelError):
    """The database failed (down, timed out) rather than refused a line: the import stops at a
    chunk, everything before it stays imported, and ``report`` says what was done."""

    def __init__(self, line: int, error: DBAPIError, report: ImportReport) -> None:
        cause = (str(error.orig).strip().splitlines() or [type(error.orig).__name__])[0]
        super().__init__(
            f"import stopped at line {line}: the database failed ({cause}); the lines before "
            "it are imported: run the same import again once the cause is fixed (lines already "
            "imported are skipped)"
        )
        self.report = report


def _unknown_tasks(record: SessionRecord, known: Container[str], names: str) -> None:
    """Refuse a line that names a task nothing defines (ValueError naming the valid ones)."""
    unknown = [name for name in record.tasks if name not in known]
    if unknown:
        raise ValueError(
            f'unknown task {", ".join(map(repr, unknown))} in "tasks"; defined tasks: {names}'
        )


def _chunks(
    path: Path, report: ImportReport, known: Collection[str]
) -> Iterator[list[SessionRecord]]:
    """Checked records in chunks of at most CHUNK_LINES lines or about CHUNK_BYTES bytes
    (memory stays bounded with long transcripts); bad lines go to the report."""
    names = ", ".join(sorted(known))
    chunk: list[SessionRecord] = []
    size = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            report.lines = number
            if not raw.strip():
                continue
            try:
                record = parse_line(number, raw)
                _unknown_tasks(record, known, names)
                chunk.append(record)
            except ValueError as exc:
                report.problems.append(Problem(number, str(exc)))
                continue
            size += len(raw)
            if len(chunk) >= CHUNK_LINES or size >= CHUNK_BYTES:
                yield chunk
                chunk, size = [], 0
    if chunk:
        yield chunk


def _distinct(
    chunk: list[SessionRecord], report: ImportReport, seen: dict[tuple[str, str], int]
) -> list[SessionRecord]:
    """The chunk without sessions an earlier line of the file already had."""
    kept = []
    for record in chunk:
        first = seen.setdefault(record.key, record.line)
        if first != record.line:
            report.problems.append(
                Problem(record.line, f"repeats session {record.session_id!r} of line {first}")
            )
        else:
            kept.append(record)
    return kept


def import_file(kernel: KernelAPI, path: Path, *, update: bool = False) -> ImportReport:
    """Import a JSONL file; returns counts, bad lines (problems) and notes, sorted by line."""
    report = ImportReport(update=update)
    writer = ChunkWriter(kernel, update=update)
    seen: dict[tuple[str, str], int] = {}
    try:
        for chunk in _chunks(path, report, set(calls.tasks(kernel))):
            records = _distinct(chunk, report, seen)
            try:
                report.add(write_isolating(writer.write, records))
            except DBAPIError as error:
                raise ImportStopped(records[0].line, error, report) from error
    finally:
        if report.companies_created:
            calls.companies_changed(kernel, sorted({company for company, _ in seen}))
        report.problems.sort(key=lambda p: p.line)
        report.notes.sort(key=lambda p: p.line)
    return report
