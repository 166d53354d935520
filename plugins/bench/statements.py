"""Statements of a whole ``run --until-idle`` for several numbers of companies.

For each number of companies: a fresh database (SQLite file, or a new database on the PostgreSQL
server of ``--database``), synthetic sessions imported, then the scheduler exactly as
``batchkernel run --until-idle`` runs it, against the emulator. Counted two ways:

* the kernel's counter (``kernel.db.queries``): statements as the database runs them (an
  ``executemany`` is one per parameter set) and driver calls;
* on PostgreSQL with ``--server-log``: the server's own statement log (``log_statement = 'all'``
  set on the run's database, which needs a superuser), every ``statement:`` and ``execute``
  line of that database, ``BEGIN`` and ``COMMIT`` included. The log's ``log_line_prefix`` must
  name the database as ``user@database`` (Debian's default ``%m [%p] %q%u@%d``).

    python -m plugins.bench.statements --companies 10 100 1000 --sessions 200 \\
        --database postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --server-log /var/log/postgresql/postgresql-15-main.log
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kernel.db.migrate import upgrade
from kernel.manager import Kernel
from kernel.scheduler import Scheduler
from kernel.settings import load_settings
from plugins.common.importing.importer import import_file
from plugins.common.schema.queries import batches_by_status
from plugins.common.synthetic import write_jsonl
from plugins.common.until_idle import run_until_idle
from plugins.emulator import EmulatorConfig, EmulatorServer

LOGGED = re.compile(r"^.*?@(?P<db>\S+) LOG:  (?:statement|execute [^:]*): (?P<sql>.*)$", re.M)


@dataclass(slots=True)
class RunStatements:
    """What one run until idle cost in statements."""

    companies: int
    sessions: int
    batches: int
    passes: int
    seconds: float
    statements: int
    driver_calls: int
    server_log: int | None = None
    top: list[tuple[str, int]] = field(default_factory=list)


@contextmanager
def fresh_database(base: str | None, workdir: Path, name: str) -> Iterator[str]:
    """A new empty database: a SQLite file under ``workdir`` or a database on ``base``'s server."""
    if base is None or make_url(base).get_backend_name() == "sqlite":
        path = workdir / f"{name}.db"
        yield f"sqlite:///{path}"
        return
    url = make_url(base)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def set_statement_log(server: str, database: str, on: bool) -> None:
    """Turn the server's statement log on or off for new sessions of ``database``, from a
    connection to another database of that server (so that it is not logged itself)."""
    admin = create_engine(make_url(server), isolation_level="AUTOCOMMIT")
    setting = "SET log_statement = 'all'" if on else "RESET log_statement"
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{database}" {setting}'))
    admin.dispose()


def logged_statements(log: Path, start: int, database: str) -> list[str]:
    """Statements of ``database`` logged after byte ``start`` of the server log."""
    with log.open("rb") as handle:
        handle.seek(start)
        logged = handle.read().decode(errors="replace")
    return [m["sql"] for m in LOGGED.finditer(logged) if m["db"] == database]


def shape(sql: str) -> str:
    """A statement's first words, for grouping (``UPDATE ai_batch_requests SET status``)."""
    return " ".join(re.sub(r"\s+", " ", sql).split(" ")[:4])[:60]


def run_one(
    companies: int,
    sessions: int,
    database: str | None,
    workdir: Path,
    server_log: Path | None,
    emulator_url: str,
) -> RunStatements:
    """Import ``sessions`` over ``companies`` into a fresh database and run until idle."""
    name = f"bk_statements_{companies}_{sessions}"
    with fresh_database(database, workdir, name) as url:
        settings = load_settings(
            {
                "database.url": url,
                "batch.workdir": str(workdir / name),
                "openai.base_url": emulator_url,
                "openai.api_key": "statements-bench",
                "plugins.autoload": False,
                "scheduler.idle_pause_seconds": 0.05,
            }
        )
        kernel = Kernel.create(settings)
        try:
            upgrade(kernel.db)
            source = write_jsonl(workdir / f"{name}.jsonl", companies, sessions, seed=11)
            import_file(kernel, source)
            log = server_log if database is not None and kernel.db.is_postgres else None
            start = 0
            if log is not None and database is not None:
                kernel.db.dispose()
                set_statement_log(database, name, True)
                start = log.stat().st_size
            began = time.perf_counter()
            with kernel.db.queries.measure() as measured:
                outcome = run_until_idle(Scheduler(kernel))
            seconds = time.perf_counter() - began
            logged: list[str] | None = None
            if log is not None and database is not None:
                kernel.db.dispose()
                set_statement_log(database, name, False)
                logged = logged_statements(log, start, name)
            if not outcome.idle:
                raise SystemExit(f"{companies} companies: not idle: {outcome.reason}")
            result = RunStatements(
                companies=companies,
                sessions=sessions,
                batches=sum(batches_by_status(kernel.db).values()),
                passes=outcome.passes,
                seconds=round(seconds, 2),
                statements=measured["statements"],
                driver_calls=measured["queries"],
            )
            if logged is not None:
                result.server_log = len(logged)
                result.top = Counter(shape(sql) for sql in logged).most_common(8)
            return result
        finally:
            kernel.close()


def main(argv: Sequence[str] | None = None) -> list[RunStatements]:
    """Parse the options, run each size, print a table (or JSON)."""
    parser = argparse.ArgumentParser(prog="python -m plugins.bench.statements", description=__doc__)
    parser.add_argument("--companies", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--sessions", type=int, default=200, help="pending requests in all")
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite files)")
    parser.add_argument("--server-log", type=Path, help="PostgreSQL's log file, to count from")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="bk-statements-") as tmp:
        emulator = EmulatorServer(EmulatorConfig(), host="127.0.0.1", port=0).start()
        try:
            for companies in args.companies:
                results.append(
                    run_one(
                        companies,
                        args.sessions,
                        args.database,
                        Path(tmp),
                        args.server_log,
                        emulator.base_url,
                    )
                )
        finally:
            emulator.stop()
    if args.json:
        print(orjson.dumps([asdict(r) for r in results], option=orjson.OPT_INDENT_2).decode())
        return results
    print("companies  sessions  batches  passes  statements  driver calls  server log  seconds")
    for r in results:
        logged = "-" if r.server_log is None else str(r.server_log)
        print(
            f"{r.companies:>9}  {r.sessions:>8}  {r.batches:>7}  {r.passes:>6}  "
            f"{r.statements:>10}  {r.driver_calls:>12}  {logged:>10}  {r.seconds:>7}"
        )
    for r in results:
        if r.top:
            print(f"\n{r.companies} companies, most frequent statements in the server log:")
            for statement, count in r.top:
                print(f"  {count:>6}  {statement}")
    return results


if __name__ == "__main__":
    main()
