"""``batchkernel chaos`` (also ``python -m plugins.chaos``): a chaos or soak run against a
database you name (empty or new), or a throwaway one created on a PostgreSQL server."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Annotated
from uuid import uuid4

import typer

POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def chaos_command(
    database: Annotated[
        str | None,
        typer.Option(help="An EMPTY database URL; default: a new database on --postgres-server."),
    ] = None,
    postgres_server: Annotated[
        str,
        typer.Option(
            help="Server on which a throwaway database is created (and dropped) when --database "
            "is not given."
        ),
    ] = POSTGRES_SERVER,
    instances: Annotated[int, typer.Option(min=1, help="Scheduler processes.")] = 6,
    requests: Annotated[int, typer.Option(min=1, help="Synthetic requests.")] = 20_000,
    companies: Annotated[int, typer.Option(min=1, help="Synthetic companies.")] = 50,
    minutes: Annotated[float, typer.Option(help="Time cap.")] = 10.0,
    seed: Annotated[
        int | None, typer.Option(help="Random seed (default: random, printed).")
    ] = None,
    no_ambiguous: Annotated[
        bool, typer.Option("--no-ambiguous", help="No lost creates and no timeouts.")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Requests per batch.")] = 200,
    chunk_size: Annotated[int, typer.Option(min=1, help="Requests claimed per page.")] = 100,
    kill_every: Annotated[
        tuple[float, float], typer.Option(help="Seconds between SIGKILLs: low high.")
    ] = (1.0, 15.0),
    disconnect_every: Annotated[
        tuple[float, float], typer.Option(help="Seconds between disconnects: low high.")
    ] = (5.0, 30.0),
    workdir: Annotated[Path | None, typer.Option(help="Logs and files.")] = None,
) -> None:
    """Soak: schedulers killed and disconnected under provider faults, then an audit.

    Runs until every request is terminal (or the time cap); exits 1 if an invariant is broken.
    """
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from plugins.chaos.harness import ChaosOptions, run_chaos

    seed = seed if seed is not None else random.SystemRandom().randrange(1 << 31)
    workdir = workdir or Path(tempfile.mkdtemp(prefix="bk-chaos-"))
    server = None
    name = ""
    if database is None:
        server = sa.create_engine(
            postgres_server, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT"
        )
        name = f"bk_chaos_{uuid4().hex[:10]}"
        with server.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        database = make_url(postgres_server).set(database=name).render_as_string(False)
    options = ChaosOptions(
        database_url=database,
        workdir=workdir,
        seed=seed,
        instances=instances,
        requests=requests,
        companies=companies,
        seconds=minutes * 60,
        ambiguous=not no_ambiguous,
        kill_every=kill_every,
        disconnect_every=disconnect_every,
        batch_size=batch_size,
        chunk_size=chunk_size,
    )
    print(f"workdir {workdir}")
    try:
        result = run_chaos(options)
    finally:
        if server is not None:
            with server.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            server.dispose()
    raise typer.Exit(code=0 if result.ok else 1)
