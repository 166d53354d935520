"""What an import did: counts, bad lines, remarks, and the one-line summary the command prints."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Problem:
    """One line, and why it was not imported (a bad line) or what to know about it (a note)."""

    line: int
    reason: str


@dataclass(slots=True)
class ImportReport:
    """Counts of an import (or of one chunk of it), with its bad lines and notes.

    ``sessions_changed``: present with other content, left alone (no ``--update``);
    ``sessions_in_flight``: present with other content, left alone because a request of the
    session is in a running batch (with ``--update``).
    """

    lines: int = 0
    sessions_created: int = 0
    sessions_existing: int = 0
    sessions_changed: int = 0
    sessions_updated: int = 0
    sessions_in_flight: int = 0
    requests_created: int = 0
    requests_requeued: int = 0
    companies_created: int = 0
    update: bool = False
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)

    def add(self, other: ImportReport) -> None:
        """Add the counts, problems and notes of ``other`` (one written chunk) to these."""
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems.extend(other.problems)
        self.notes.extend(other.notes)

    def summary(self) -> str:
        """Two short lines: what happened to the lines, then what was enqueued and created."""
        parts = [
            plural(self.sessions_created, "session") + " created",
            f"{self.sessions_existing} already present",
        ]
        if self.update:
            parts.append(f"{self.sessions_updated} updated and re-enqueued")
            parts.append(f"{self.sessions_in_flight} changed but in a running batch, not updated")
        else:
            parts.append(f"{self.sessions_changed} changed, not updated (use --update)")
        parts.append(plural(len(self.problems), "bad line"))
        work = [plural(self.requests_created, "request") + " enqueued"]
        if self.update:
            work.append(f"{self.requests_requeued} re-enqueued")
        work.append(plural(self.companies_created, "company", "companies") + " created")
        return f"{plural(self.lines, 'line')} read: {', '.join(parts)}\n{', '.join(work)}"


COUNTS = (
    "sessions_created",
    "sessions_existing",
    "sessions_changed",
    "sessions_updated",
    "sessions_in_flight",
    "requests_created",
    "requests_requeued",
    "companies_created",
)


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 line``, ``2 lines``."""
    return f"{count} {one if count == 1 else many or one + 's'}"
