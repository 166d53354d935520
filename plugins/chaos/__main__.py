"""``python -m kernel.chaos``: a chaos or soak run against a database you name (empty or new)."""

from __future__ import annotations

import argparse
import random
import tempfile
from collections.abc import Sequence
from pathlib import Path
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from kernel.chaos.harness import ChaosOptions, run_chaos


def build_parser() -> argparse.ArgumentParser:
    """The soak command's flags."""
    parser = argparse.ArgumentParser(
        prog="python -m kernel.chaos",
        description="Scheduler processes under SIGKILL, database disconnects and provider "
        "faults until every request is terminal; then audit the end state.",
    )
    parser.add_argument(
        "--database",
        help="an EMPTY database URL; default: a new database on --postgres-server",
    )
    parser.add_argument(
        "--postgres-server",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        help="server on which a throwaway database is created (and dropped) when --database "
        "is not given",
    )
    parser.add_argument("--instances", type=int, default=6)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--companies", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10.0, help="time cap")
    parser.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    parser.add_argument(
        "--no-ambiguous", action="store_true", help="no lost creates and no timeouts"
    )
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--chunk-size", type=int, default=100)
    parser.add_argument("--kill-every", type=float, nargs=2, default=(1.0, 15.0))
    parser.add_argument("--disconnect-every", type=float, nargs=2, default=(5.0, 30.0))
    parser.add_argument("--workdir", type=Path, default=None, help="logs and files")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run once; exit 0 when quiescent and every invariant holds."""
    args = build_parser().parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bk-chaos-"))
    server = None
    database = args.database
    if database is None:
        server = sa.create_engine(
            args.postgres_server, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT"
        )
        name = f"bk_chaos_{uuid4().hex[:10]}"
        with server.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        database = make_url(args.postgres_server).set(database=name).render_as_string(False)
    options = ChaosOptions(
        database_url=database,
        workdir=workdir,
        seed=seed,
        instances=args.instances,
        requests=args.requests,
        companies=args.companies,
        seconds=args.minutes * 60,
        ambiguous=not args.no_ambiguous,
        kill_every=tuple(args.kill_every),
        disconnect_every=tuple(args.disconnect_every),
        batch_size=args.batch_size,
        chunk_size=args.chunk_size,
    )
    print(f"workdir {workdir}")
    try:
        result = run_chaos(options)
    finally:
        if server is not None:
            with server.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            server.dispose()
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
