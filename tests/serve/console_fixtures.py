"""A server over a finished run with failed requests, and tokens of every kind: read, operator,
and a company-scoped operator."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any

import pytest

from plugins.emulator import EmulatorConfig
from plugins.serve import start_server

READER = "reader-token-0123456789abcdef"
OPERATOR = "operator-token-0123456789abcdef"
TENANT = "tenant-operator-0123456789abcdef"
TENANT_COMPANY = "company-0001"
FAILING = EmulatorConfig(seed=1, rate_line_error=0.25, line_error_status=400)


@dataclass
class Console:
    """The server's URL and the pipeline behind it."""

    url: str
    pipeline: Any


def post(url: str, token: str | None, *, header: bool = True) -> tuple[int, Message, bytes]:
    """A POST with no body, as the console sends it (``X-Requested-With`` unless told not to)."""
    request = urllib.request.Request(url, method="POST", data=b"")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    if header:
        request.add_header("X-Requested-With", "batchkernel")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture
def console(make_pipeline: Any, db_url: str) -> Iterator[Console]:
    """Run a pipeline with refused answers to idle and serve it with three kinds of token."""
    pipeline = make_pipeline(db_url, sessions=40, companies=3, config=FAILING)
    pipeline.run()
    kernel = pipeline.kernel
    kernel.settings.set(
        "serve.tokens",
        [
            {"token": READER},
            {"token": OPERATOR, "role": "operator", "name": "ops"},
            {"token": TENANT, "role": "operator", "company": TENANT_COMPANY, "name": "tenant"},
        ],
    )
    handle = start_server(kernel, "127.0.0.1", 0)
    yield Console(handle.url, pipeline)
    handle.stop()
