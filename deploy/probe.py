"""Container probes for batchkernel (copied into the image as /opt/batchkernel/probe.py).

    python probe.py heartbeat [--max-age S]   a `batchkernel run` on this host beat in the last S s
    python probe.py schema [--wait S]         the database is at the packaged migrations' head
    python probe.py serve [--path P]          `batchkernel serve` on this host answers P with 2xx

`batchkernel run` has no HTTP port: it writes its heartbeat into ``scheduler_instances`` after
every task run, so its liveness is read from there (row of this host, not stopped). ``schema``
lets an init container wait until the migration job has run. Settings (database URL, serve port)
come from the same settings files and ``BATCHKERNEL_*`` variables as the program itself.
Exit status: 0 healthy, 1 not healthy (reason on stderr).
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

DEFAULT_MAX_AGE_SECONDS = 900.0
DEFAULT_SERVE_PORT = 8080


def _settings():
    from kernel.settings import load_settings

    return load_settings()


def _database(settings):
    from kernel.db.engine import Database

    return Database.from_settings(settings)


def check_heartbeat(max_age: float, host: str | None = None) -> tuple[bool, str]:
    """Is there a running (not stopped) instance on ``host`` whose heartbeat is recent enough?"""
    from sqlalchemy import func, select

    from kernel.db.models import SchedulerInstance

    host = host or socket.gethostname()
    db = _database(_settings())
    try:
        with db.sessions() as session:
            newest = session.scalar(
                select(func.max(SchedulerInstance.heartbeat_at)).where(
                    SchedulerInstance.host == host, SchedulerInstance.stopped_at.is_(None)
                )
            )
    finally:
        db.dispose()
    if newest is None:
        return False, f"no running scheduler instance on host {host} has written a heartbeat"
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    age = (datetime.now(UTC) - newest).total_seconds()
    if age > max_age:
        return False, f"last heartbeat on host {host} is {age:.0f}s old (limit {max_age:.0f}s)"
    return True, f"heartbeat {age:.0f}s ago on host {host}"


def check_schema() -> tuple[bool, str]:
    """Is the database at the heads of the migrations this installation ships (the built-in
    history's and each installed plugin's branch)? The same judgement as every command's."""
    from plugins.cli.readiness import named, schema_problem
    from plugins.cli.revisions import current_heads

    db = _database(_settings())
    try:
        current = current_heads(db)
    finally:
        db.dispose()
    problem = schema_problem(current)
    return (False, problem) if problem else (True, f"database at {named(current)}")


def check_serve(path: str, port: int | None, timeout: float) -> tuple[bool, str]:
    """Does the local ``batchkernel serve`` answer ``path`` with a 2xx status?"""
    if port is None:
        port = int(_settings().get("serve.port", DEFAULT_SERVE_PORT))
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300, f"{url} answered {response.status}"
    except (urllib.error.URLError, OSError) as exc:
        return False, f"{url} failed: {exc}"


def build_parser() -> argparse.ArgumentParser:
    """The probes and their options."""
    parser = argparse.ArgumentParser(prog="probe.py", description=__doc__.splitlines()[0])
    probes = parser.add_subparsers(dest="probe", required=True)
    beat = probes.add_parser("heartbeat", help="a running scheduler on this host beat recently")
    beat.add_argument("--max-age", type=float, default=DEFAULT_MAX_AGE_SECONDS)
    beat.add_argument("--host", default=None, help="host name to check (default: this one)")
    schema = probes.add_parser("schema", help="the database schema is at the packaged head")
    schema.add_argument("--wait", type=float, default=0.0, help="keep trying this many seconds")
    serve = probes.add_parser("serve", help="batchkernel serve answers on this host")
    serve.add_argument("--path", default="/healthz")
    serve.add_argument("--port", type=int, default=None, help="default: settings serve.port")
    serve.add_argument("--timeout", type=float, default=3.0)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the probe to run, run it, print the outcome, return the exit status."""
    args = build_parser().parse_args(argv)

    deadline = time.monotonic() + (args.wait if args.probe == "schema" else 0.0)
    while True:
        try:
            if args.probe == "heartbeat":
                ok, message = check_heartbeat(args.max_age, args.host)
            elif args.probe == "schema":
                ok, message = check_schema()
            else:
                ok, message = check_serve(args.path, args.port, args.timeout)
        except Exception as exc:  # a probe reports, it never crashes with a traceback
            ok, message = False, f"{type(exc).__name__}: {exc}"
        if ok or time.monotonic() >= deadline:
            break
        time.sleep(2.0)
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
