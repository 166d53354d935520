"""Measure the monitoring endpoints at many tenants: sizes, times and memory under concurrency.

    python -m tests.serve.measure_scale --database sqlite:////tmp/scale/t100k.db --companies 100000

Seeds the database with ``--companies`` synthetic tenants when it has none, starts the monitoring
server in this process on a free port with ``serve.cache_seconds = --cache-seconds`` (default 0:
every request builds its snapshot from the database) and prints, per endpoint, the answer's size
and time (twice), then the time, peak resident memory of this process and number of snapshot
builds while ``--concurrent`` clients each fetch the snapshot API and ``/metrics`` at once. The
figures go into docs/security.md.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import urllib.request
from typing import Any

from sqlalchemy import create_engine, func, select

from kernel.db.migrate import upgrade
from kernel.manager import Kernel
from plugins.bench import rss
from plugins.common.schema.models import Company
from plugins.serve import start_server
from tests.serve.tenants import seed_tenants

TOKEN = "measure-token-0123456789abcdef"


def fetch(url: str) -> tuple[int, float]:
    """Bytes and seconds of one authorised GET."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as answer:
        size = len(answer.read())
    return size, time.perf_counter() - started


def main() -> None:
    """Seed if needed, serve, measure, print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--concurrent", type=int, default=10)
    parser.add_argument("--cache-seconds", type=float, default=0.0)
    args = parser.parse_args()
    kernel = Kernel.create(
        overrides={
            "database.url": args.database,
            "plugins.autoload": False,
            "batch.workdir": "/tmp/batchkernel-measure",
            "serve.tokens": [TOKEN],
            "serve.cache_seconds": args.cache_seconds,
        }
    )
    upgrade(kernel.db)
    engine = create_engine(kernel.db.url)
    with engine.connect() as conn:
        present = conn.execute(select(func.count()).select_from(Company)).scalar_one()
    if present == 0:
        seed_tenants(engine, args.companies)
        present = args.companies
    engine.dispose()
    handle = start_server(kernel, "127.0.0.1", 0)
    out: dict[str, Any] = {"companies": present}
    try:
        for name, path in (
            ("metrics", "/metrics"),
            ("api", "/api/batch-monitoring"),
            ("csv", "/api/batch-monitoring?format=csv"),
        ):
            size, cold = fetch(handle.url + path)
            _, warm = fetch(handle.url + path)
            out[name] = {"bytes": size, "seconds": [round(cold, 3), round(warm, 3)]}
        if not args.concurrent:
            return
        time.sleep(3)
        builds = getattr(getattr(handle.app, "snapshots", None), "builds", None)
        base = rss.current()
        rss.reset_peak()
        threads = [
            threading.Thread(target=fetch, args=(handle.url + path,))
            for path in ("/api/batch-monitoring", "/metrics")
            for _ in range(args.concurrent)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        out["concurrent"] = {
            "clients": len(threads),
            "seconds": round(time.perf_counter() - started, 3),
            "rss_before_mib": round(base / 2**20, 1),
            "rss_peak_mib": round(rss.peak() / 2**20, 1),
            "snapshot_builds": None if builds is None else handle.app.snapshots.builds - builds,
        }
    finally:
        handle.stop()
        kernel.close()
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
