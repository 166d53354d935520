"""``batchkernel demo --provider NAME`` completes every request on every provider, and
``batchkernel emulator --provider azure-openai`` serves an Azure resource the SDK can use."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from tests.providers.cases import CASES, ProviderCase
from tests.support.forkserver import run_cli

SMALL = ("--companies", "2", "--sessions", "12")


def _env() -> dict[str, str]:
    """The environment without any BATCHKERNEL_ setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith("BATCHKERNEL_")} | {
        "COLUMNS": "200"
    }


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_demo_completes_every_request(case: ProviderCase, tmp_path: Path) -> None:
    result = run_cli(
        ["demo", "--provider", case.name, *SMALL], env=_env(), cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert re.search(r"requests PROCESSING_COMPLETE\s*│\s*12\b", result.stdout), result.stdout
    assert "PROCESSING_FAILED" not in result.stdout


def test_azure_emulator_command_serves_the_sdk(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "kernel", "emulator", "--provider", "azure-openai", "--port", "0"],
        env=_env(),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        seen: list[str] = []
        found = None
        while found is None:
            line = process.stderr.readline()
            assert line, "the emulator exited: " + "".join(seen)
            seen.append(line)
            found = re.search(r"listening at (http://127\.0\.0\.1:\d+)", line)
        client = openai.AzureOpenAI(
            azure_endpoint=found.group(1), api_key="k", api_version="2024-10-21", max_retries=0
        )
        uploaded = client.files.create(file=("in.jsonl", b"{}\n"), purpose="batch")
        assert uploaded.id and client.batches.list().data == []
        client.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()
