"""Fixtures for costs, budgets and fairness: tenants with chosen backlogs, the emulator, kernels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from kernel.api import KernelAPI
from kernel.manager import Kernel
from plugins.common import calls
from plugins.common.importing.importer import import_file
from plugins.common.lines import neutral_request
from plugins.emulator import EmulatorConfig, EmulatorServer

QUESTION = "How many vacation days do I have left this year, and can I carry them over?"
ANSWER = "You have twelve days left; up to five of them carry over to next year."


def line_tokens(kernel: KernelAPI | None = None, model: str = "gpt-4o-mini") -> int:
    """Input tokens of one tenant session's request, as the provider's encoder counts them."""
    kernel = kernel or Kernel.create(overrides={"plugins.autoload": False})
    task = calls.task(kernel, str(kernel.settings.processing.default_tasks[0]))
    messages = [("user", QUESTION), ("assistant", ANSWER)]
    request = neutral_request("x" * 36, task, model, messages, kernel.settings)
    return calls.request_encoder(kernel, "openai", model).count_tokens(request)


def write_tenants(path: Path, backlog: dict[str, int]) -> Path:
    """An import file with ``backlog[company]`` sessions per company, all with the same two
    messages (so every request has the same estimated tokens)."""
    with path.open("wb") as handle:
        for company, count in backlog.items():
            for index in range(count):
                record = {
                    "company": company,
                    "session_id": f"{path.stem}-{company}-{index:06d}",
                    "start_time": "2026-11-01T09:00:00Z",
                    "messages": [
                        {"role": "user", "content": QUESTION},
                        {"role": "assistant", "content": ANSWER},
                    ],
                }
                handle.write(orjson.dumps(record) + b"\n")
    return path


def load_tenants(
    kernel: KernelAPI, tmp_path: Path, backlog: dict[str, int], name: str = "t"
) -> None:
    """Import the sessions of ``backlog`` into the kernel's database."""
    source = write_tenants(tmp_path / f"{name}.jsonl", backlog)
    assert import_file(kernel, source).requests_created == sum(backlog.values())


@pytest.fixture
def emulator() -> Iterator[Any]:
    """Start emulators with the given config; all stopped at the end."""
    started: list[EmulatorServer] = []

    def start(**config: Any) -> EmulatorServer:
        server = EmulatorServer(EmulatorConfig(seed=1, **config)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def costs_kernel(make_kernel: Any) -> Any:
    """A kernel on ``db_url`` pointed at ``server``; batches of any size go at once
    (``batch.min_batch_size`` 1)."""

    def build(db_url: str, server: Any, **settings: Any) -> Any:
        options = {
            "openai__base_url": server.base_url,
            "batch__min_batch_size": 1,
            "plugins__cache": "none",
        } | settings
        kernel = make_kernel(db_url, **options)
        kernel.settings.set("scheduler.flush_small_batches", True)
        return kernel

    return build
