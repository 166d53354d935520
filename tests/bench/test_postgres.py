"""The bench on PostgreSQL: template copies (CREATE DATABASE ... TEMPLATE), the optimized path
and the raw SQL floor (COPY, SKIP LOCKED) on a real server, and nothing left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from plugins.bench.options import BenchOptions, DataSpec
from plugins.bench.runner import run_bench

pytestmark = pytest.mark.postgres


def bench_databases(url: str) -> set[str]:
    """Databases a bench of 200 sessions created on the server (other sizes may be running)."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            names = conn.exec_driver_sql("SELECT datname FROM pg_database").scalars()
            return {name for name in names if name.startswith("bk_bench_200_")}
    finally:
        engine.dispose()


def test_optimized_and_floor_on_postgres(postgres_server_url: str, tmp_path: Path) -> None:
    before = bench_databases(postgres_server_url)
    options = BenchOptions(
        data=DataSpec(companies=5, sessions=200, messages=6),
        database=postgres_server_url,
        repetitions=1,
        workdir=tmp_path,
        paths=("optimized",),
        memory="",
    )
    report = run_bench(options)
    assert report["database"] == "postgresql"
    for path in ("optimized", "floor"):
        assert report["paths"][path]["completed"] == 200, path
    assert report["paths"]["floor"]["total"]["queries"] <= 15
    assert bench_databases(postgres_server_url) == before
