"""The chaos test: three ``batchkernel run`` processes on PostgreSQL, the emulator as its own
process with injected faults, schedulers SIGKILLed and restarted and their connections
terminated at random, until every request is terminal. Then every invariant is audited and the
report printed (``pytest -s`` shows it; the seed replays a run: ``BATCHKERNEL_CHAOS_SEED``, which
CI pins). A run ends when the work is done or stops making progress, never at a wall-clock window,
so a loaded machine makes it slower, not red. Marked ``slow``: ``pytest -m slow`` runs it."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from plugins.chaos.harness import ChaosOptions, run_chaos


def seed() -> int:
    """The seed from the environment, or a fresh one (printed in the report)."""
    value = os.environ.get("BATCHKERNEL_CHAOS_SEED")
    return int(value) if value else random.SystemRandom().randrange(1 << 31)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize(
    ("ambiguous", "requests"),
    [(True, 1200), (False, 400)],
    ids=["ambiguous-faults", "no-ambiguous-faults"],
)
def test_chaos_three_schedulers_under_kills_disconnects_and_provider_faults(
    postgres_url: str, tmp_path: Path, ambiguous: bool, requests: int
) -> None:
    lines: list[str] = []

    def out(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    result = run_chaos(
        ChaosOptions(
            database_url=postgres_url,
            workdir=tmp_path,
            seed=seed(),
            instances=3,
            requests=requests,
            companies=12,
            seconds=1500.0,
            stall_seconds=120.0,
            ambiguous=ambiguous,
        ),
        out,
    )
    report = "\n".join(lines)
    assert result.quiescent, report
    assert result.kills >= 3 and result.disconnects >= 3, report
    assert not result.unexpected_exits, report
    assert result.audit.ok, report
    if not ambiguous:
        assert result.audit.unlinked_batches == [] and result.audit.duplicate_submissions == 0
