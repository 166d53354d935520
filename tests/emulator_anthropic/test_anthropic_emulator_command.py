"""``batchkernel emulator --provider anthropic`` serves the Anthropic emulator from its settings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import anthropic


def test_emulator_command_serves_the_anthropic_api(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text('[default.emulator_anthropic]\napi_key = "sk-ant-cmd"\n')
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kernel",
            "emulator",
            "--provider",
            "anthropic",
            "--port",
            "0",
            "--settings",
            str(settings),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    ) as process:
        try:
            deadline = time.monotonic() + 60
            url = None
            assert process.stdout is not None
            while url is None and time.monotonic() < deadline:
                line = process.stdout.readline()
                if not line:
                    break
                found = re.search(r"http://127\.0\.0\.1:\d+", line)
                url = found.group(0) if found else None
            assert url, "the command printed no address"
            with anthropic.Anthropic(base_url=url, api_key="sk-ant-cmd", max_retries=0) as client:
                assert client.messages.batches.list().data == []
            with anthropic.Anthropic(base_url=url, api_key="other", max_retries=0) as wrong:
                try:
                    wrong.messages.batches.list()
                    raise AssertionError("the configured key was not enforced")
                except anthropic.AuthenticationError:
                    pass
        finally:
            process.terminate()
            process.wait(timeout=30)
