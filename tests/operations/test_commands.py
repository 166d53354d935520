"""``batches``, ``requests`` and ``companies pause|resume`` as a user runs them: subprocesses on a
finished run's database; refusals and bad filters are one line, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from plugins.cli.main import build_app
from plugins.common.schema.statuses import RequestStatus
from tests.operations.support import FAILING, audit_rows, by_state
from tests.test_cli import batchkernel, cli_env

FAILED = RequestStatus.PROCESSING_FAILED.value
PENDING = RequestStatus.PENDING_BATCHING.value


@pytest.fixture
def processor() -> str:
    """The commands read and change rows whichever processor wrote them."""
    return "optimized"


@pytest.mark.parametrize(
    "command",
    [
        "batches list",
        "batches show",
        "batches cancel",
        "requests list",
        "requests show",
        "requests retry",
        "requests cancel",
        "companies pause",
        "companies resume",
    ],
)
def test_help(command: str) -> None:
    result = CliRunner().invoke(build_app([]), [*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_inspect_and_act_from_the_command_line(
    make_pipeline: Any, sqlite_url: str, tmp_path: Path
) -> None:
    pipeline = make_pipeline(sqlite_url, sessions=24, companies=2, config=FAILING)
    pipeline.run()
    env = cli_env(tmp_path, sqlite_url)
    failed = by_state(pipeline, FAILED)
    target = failed[0]

    listed = batchkernel("requests", "list", "--state", "failed", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert {r["id"] for r in json.loads(listed.stdout)["rows"]} == {r.id for r in failed}
    table = batchkernel("requests", "list", "--state", "failed", env=env)
    assert target.id in table.stdout, "ids must not be cut when the output is piped"

    shown = batchkernel("requests", "show", target.id, env=env)
    assert shown.returncode == 0, shown.stderr
    first_message = pipeline.transcripts()[target.session_id][0][1]
    for part in ("input", "provider's answer", first_message, '"status_code": 400'):
        assert part in shown.stdout, part
    assert target.error is not None and target.error.split(":")[0] in shown.stdout

    retried = batchkernel("requests", "retry", target.id, "--yes", env=env)
    assert retried.returncode == 0, retried.stderr
    assert f"request {target.id}: {FAILED} -> {PENDING}" in retried.stderr
    again = batchkernel("requests", "retry", target.id, "--yes", env=env)
    assert again.returncode == 1 and "only failed requests can be retried" in again.stderr
    assert "Traceback" not in again.stderr

    bad = batchkernel("requests", "list", "--state", "done", env=env)
    assert bad.returncode == 2 and "valid: pending" in bad.stderr and "Traceback" not in bad.stderr
    both = batchkernel("requests", "retry", target.id, "--all-failed", "--yes", env=env)
    assert both.returncode == 2 and "not both" in both.stderr

    company = failed[-1].company_id
    rest = [r for r in by_state(pipeline, FAILED) if r.company_id == company]
    bulk = batchkernel("requests", "retry", "--all-failed", "--company", company, "--yes", env=env)
    assert bulk.returncode == 0, bulk.stderr
    assert f"{len(rest)} {FAILED} requests matching company={company}" in bulk.stderr

    paused = batchkernel("companies", "pause", "company-0000", env=env)
    assert paused.returncode == 0 and "paused" in paused.stderr
    companies = batchkernel("companies", "list", env=env)
    line = next(row for row in companies.stdout.splitlines() if "company-0000" in row)
    assert "20" in line, "the paused company shows when it was paused"
    assert batchkernel("companies", "pause", "company-0000", env=env).returncode == 1
    assert batchkernel("companies", "resume", "company-0000", env=env).returncode == 0

    batches = json.loads(batchkernel("batches", "list", "--json", env=env).stdout)["rows"]
    assert len(batches) == len(pipeline.batches())
    one = batchkernel("batches", "show", batches[0]["id"], env=env)
    assert one.returncode == 0 and "requests PROCESSING_COMPLETE" in one.stdout
    ended = batchkernel("batches", "cancel", batches[0]["id"], "--yes", env=env)
    assert ended.returncode == 1 and "has ended" in ended.stderr

    status = batchkernel("status", env=env)
    assert "recent actions" in status.stdout and "companies.resume" in status.stdout
    actors = {a.actor for a in audit_rows(pipeline.kernel)}
    assert len(actors) == 1 and actors.pop().startswith("cli:")
