"""A claim worker for the stochastic F3 test: ``python -m tests.reliability.claimer URL PROCESSOR
OUT`` calls ``fetch_pending`` until nothing is left and writes what it claimed as JSON."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import orjson

from kernel.manager import Kernel


def main(url: str, processor: str, out: str) -> None:
    """Claim in a loop; record each plan's batch id and the custom_ids of its input file."""
    kernel = Kernel.create(
        overrides={
            "database.url": url,
            "batch.workdir": tempfile.mkdtemp(prefix="bk-claimer-"),
            "plugins.autoload": False,
            "plugins.cache": "none",
            "plugins.processor": processor,
            "batch.min_batch_size": 1,
            "batch.max_requests_per_batch": 25,
            "processing.chunk_size": 60,
        }
    )
    plans: list[dict[str, object]] = []
    idle = 0
    try:
        while idle < 3:
            claimed = kernel.fetch_pending(kernel.get_companies())
            for plan in claimed:
                ids = [
                    orjson.loads(line)["custom_id"]
                    for line in Path(plan.input_path).read_bytes().splitlines()
                ]
                plans.append({"batch_id": plan.batch_id, "custom_ids": ids})
            idle = 0 if claimed else idle + 1
            time.sleep(0.01)
    finally:
        kernel.close()
    Path(out).write_text(json.dumps(plans))


if __name__ == "__main__":
    main(*sys.argv[1:4])
