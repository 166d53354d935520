"""What one benchmark invocation measures: the data set, the database, repetitions, where files go."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PATHS = ("original", "optimized")
DEFAULT_DIR = Path(".batchkernel/bench")


@dataclass(frozen=True, slots=True)
class DataSpec:
    """The synthetic data set: companies, pending sessions (one request each), their messages."""

    companies: int = 100
    sessions: int = 50_000
    messages: int = 10
    message_chars: int = 0
    seed: int = 7

    def label(self) -> str:
        """A short name for file and database names."""
        return (
            f"c{self.companies}-s{self.sessions}-m{self.messages}-l{self.message_chars}"
            f"-r{self.seed}"
        )


@dataclass(frozen=True, slots=True)
class BenchOptions:
    """One ``batchkernel bench`` run: data, database URL (None: a SQLite file), repetitions,
    which paths, and settings overrides applied to every path (e.g. ``processing.chunk_size``).

    ``memory``: "build" traces the first batch building (claim and files, no submission) of
    one extra run per path, "all" a whole extra run (slow: tracemalloc on the original's
    per-line apply), "" none."""

    data: DataSpec = field(default_factory=DataSpec)
    database: str | None = None
    repetitions: int = 3
    floor: bool = True
    memory: str = "build"
    workdir: Path = DEFAULT_DIR
    paths: tuple[str, ...] = PATHS
    overrides: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (the database URL without its password)."""
        from sqlalchemy.engine import make_url

        out = asdict(self)
        out["workdir"] = str(self.workdir)
        if self.database:
            out["database"] = make_url(self.database).render_as_string(hide_password=True)
        return out
