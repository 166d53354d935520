"""Fixtures for serve tests: a finished pipeline run and a monitoring server over its database."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from kernel.api import KernelAPI
from plugins.common.importing.importer import import_file
from plugins.serve import start_server
from tests.lifecycle.conftest import make_pipeline

__all__ = ["Served", "get", "make_pipeline"]


@pytest.fixture
def processor() -> str:
    """Serve tests run the original processor (the processor contract is tested elsewhere)."""
    return "original"


TOKEN = "global-token-0123456789abcdef"
SCOPED = "scoped-token-0123456789abcdef"


@dataclass
class Served:
    """A monitoring server over a database with a finished run (plus a few pending requests)."""

    url: str
    pipeline: Any
    company: str


def get(url: str, token: str | None = None, method: str = "GET") -> tuple[int, Message, bytes]:
    """One request; returns status, headers (case-insensitive; ``get_all`` for repeated ones)
    and body, also for 4xx/5xx."""
    request = urllib.request.Request(url, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def queue_more(kernel: KernelAPI, path: Path, per_company: dict[str, int]) -> None:
    """Import new sessions so some requests are pending after the run."""
    lines = []
    for company, count in per_company.items():
        for index in range(count):
            session = {
                "company": company,
                "session_id": f"later-{company}-{index}",
                "start_time": "2026-11-01T09:00:00Z",
                "messages": [{"role": "user", "content": "When is my next shift?"}],
            }
            lines.append(json.dumps(session))
    path.write_text("\n".join(lines) + "\n")
    assert import_file(kernel, path).requests_created == sum(per_company.values())


@pytest.fixture
def served(make_pipeline: Any, sqlite_url: str, tmp_path: Path) -> Iterator[Served]:
    """Run the pipeline to idle, queue a few more requests, and serve the database."""
    pipeline = make_pipeline(sqlite_url, sessions=60, companies=3)
    pipeline.run()
    company = sorted({r.company_id for r in pipeline.requests()})[0]
    kernel = pipeline.kernel
    queue_more(kernel, tmp_path / "more.jsonl", {"company-0000": 5, "company-0001": 3})
    kernel.settings.set("serve.tokens", [{"token": TOKEN}, {"token": SCOPED, "company": company}])
    kernel.settings.set("serve.refresh_seconds", 1)
    handle = start_server(kernel, "127.0.0.1", 0)
    yield Served(handle.url, pipeline, company)
    handle.stop()
