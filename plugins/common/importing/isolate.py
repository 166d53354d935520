"""A chunk the database refuses is retried in halves until the refused lines stand alone.

Only refusals of the data itself (constraint, type or value errors) are isolated; a database that
is down or timing out stops the import instead (every chunk written before it stays).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.exc import DataError, IntegrityError

from plugins.common.importing.lines import SessionRecord
from plugins.common.importing.report import ImportReport, Problem

REFUSALS = (DataError, IntegrityError)


def refusal_reason(error: DataError | IntegrityError) -> str:
    """The database's own first line about the refusal, without the statement or parameters."""
    lines = str(error.orig).strip().splitlines() or [type(error.orig).__name__]
    return f"the database refused it: {lines[0]}"


def write_isolating(
    write: Callable[[Sequence[SessionRecord]], ImportReport], records: Sequence[SessionRecord]
) -> ImportReport:
    """``write(records)``; on a refusal, the same for each half, down to single lines, so every
    line the database accepts is kept and each refused line is reported with the reason."""
    try:
        return write(records)
    except REFUSALS as error:
        if len(records) == 1:
            return ImportReport(problems=[Problem(records[0].line, refusal_reason(error))])
        middle = len(records) // 2
        result = write_isolating(write, records[:middle])
        result.add(write_isolating(write, records[middle:]))
        return result
