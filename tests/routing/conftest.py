"""Two providers behind one kernel: the OpenAI and the Anthropic emulators over loopback, each
driven by its real SDK, routed by ``routing.providers``, on a real database, both processors."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.manager import Kernel
from kernel.scheduler import Scheduler
from kernel.types import Metric
from plugins.common.importing.importer import import_file
from plugins.common.synthetic import write_jsonl
from tests.providers.cases import ANTHROPIC, OPENAI, LedgerBatch
from tests.support.pipelines import KernelRun

ROUTING = ["openai", "anthropic"]
CLAUDE = "claude-haiku-4-5"
"""``anthropic.model``'s default: what a request failed over to Anthropic runs on."""


@dataclass
class Metrics:
    """A test exporter that keeps every metric."""

    seen: list[Metric] = field(default_factory=list)

    @hookimpl
    def record_metric(self, kernel: KernelAPI, metric: Metric) -> None:
        """Keep it."""
        self.seen.append(metric)

    def failovers(self) -> Counter[tuple[str, str, str]]:
        """``batchkernel.provider.failover`` by (from, to, reason)."""
        found: Counter[tuple[str, str, str]] = Counter()
        for metric in self.seen:
            if metric.name == "batchkernel.provider.failover":
                labels = metric.attributes
                found[(labels["from"], labels["to"], labels["reason"])] += int(metric.value)
        return found


@dataclass
class Routed(KernelRun):
    """A kernel routed over the OpenAI and Anthropic emulators."""

    kernel: Kernel
    openai: Any
    anthropic: Any
    scheduler: Scheduler
    metrics: Metrics

    def ledgers(self) -> dict[str, list[LedgerBatch]]:
        """Every batch each emulator made, by provider."""
        return {
            "openai": OPENAI.batches(self.openai),
            "anthropic": ANTHROPIC.batches(self.anthropic),
        }

    def sent(self) -> Counter[str]:
        """How many provider batches, at either provider, each request id was sent in."""
        return Counter(
            request_id
            for batches in self.ledgers().values()
            for batch in batches
            for request_id in batch.request_ids
        )

    def shift_openai_clock(self, seconds: float) -> None:
        """Move the OpenAI plugin's clock forward (its quota cool-down ends without waiting)."""
        provider = self.kernel.pm.get_plugin("openai")
        assert provider is not None
        provider.clock = lambda: time.time() + seconds

    def route_line(self) -> str:
        """The status line of the ``routing.providers`` list."""
        return str(self.kernel.collect_status()["routing"][", ".join(ROUTING)])


@pytest.fixture(params=["original", "optimized"])
def processor(request: pytest.FixtureRequest) -> str:
    """Both processors."""
    return str(request.param)


@pytest.fixture
def make_routed(make_kernel: Any, tmp_path: Path, processor: str) -> Iterator[Any]:
    """``make_routed(db_url, sessions=20, companies=2, openai_faults={...},
    anthropic_faults={...}, extra_plugins=[(name, plugin)], **settings)``."""
    servers: list[Any] = []

    def factory(
        db_url: str,
        *,
        sessions: int = 20,
        companies: int = 2,
        openai_faults: Mapping[str, Any] | None = None,
        anthropic_faults: Mapping[str, Any] | None = None,
        extra_plugins: Sequence[tuple[str, Any]] = (),
        **settings: Any,
    ) -> Routed:
        openai = OPENAI.emulator(openai_faults or {})
        anthropic = ANTHROPIC.emulator(anthropic_faults or {})
        servers.extend([openai, anthropic])
        metrics = Metrics()
        options = {
            **ANTHROPIC.kernel_settings(anthropic),
            **OPENAI.kernel_settings(openai),
            "plugins__processor": processor,
            "routing__providers": ROUTING,
            "batch__max_requests_per_batch": 10,
            "batch__min_batch_size": 1,
            **settings,
        }
        kernel = make_kernel(db_url, extra=[("metrics", metrics), *extra_plugins], **options)
        source = write_jsonl(tmp_path / "sessions.jsonl", companies, sessions, seed=3)
        assert import_file(kernel, source).requests_created == sessions
        return Routed(kernel, openai, anthropic, Scheduler(kernel), metrics)

    yield factory
    for server in servers:
        server.stop()
