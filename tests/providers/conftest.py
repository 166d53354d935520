"""The contract harness: a provider's emulator over loopback, a kernel on a real database with
that provider plugin and its real SDK, and synthetic sessions; parametrised over every provider."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kernel.manager import Kernel
from kernel.scheduler import Scheduler
from tests.providers.cases import CASES, LedgerBatch, ProviderCase
from tests.support.pipelines import Pipeline, pipeline_factory


@dataclass
class Contract(Pipeline):
    """One provider's pipeline under a scenario."""

    case: ProviderCase

    def provider_batches(self) -> list[LedgerBatch]:
        """Every batch the provider's emulator made."""
        return self.case.batches(self.server)

    def remaining(self) -> list[str]:
        """What of ours the provider still keeps."""
        return self.case.remaining(self.server)

    def injected(self, fault: str) -> int:
        """How many faults of a kind the emulator injected."""
        return self.case.injected(self.server, fault)


@pytest.fixture(params=CASES, ids=[case.name for case in CASES])
def case(request: pytest.FixtureRequest) -> ProviderCase:
    """Every provider plugin."""
    value = request.param
    assert isinstance(value, ProviderCase)
    return value


@pytest.fixture
def make_contract(make_kernel: Any, tmp_path: Path, case: ProviderCase) -> Iterator[Any]:
    """``make_contract(db_url, sessions=20, companies=2, faults={...}, **settings)``: the
    provider's emulator with ``faults`` and a kernel with its plugin, sessions imported."""

    def launch(faults: Mapping[str, Any] | None) -> tuple[Any, dict[str, Any]]:
        """The case's emulator with ``faults`` and the settings that point the kernel at it."""
        server = case.emulator(faults or {})
        return server, {
            **case.kernel_settings(server),
            "batch__max_requests_per_batch": 10,
            "batch__min_batch_size": 1,
        }

    def contract(kernel: Kernel, server: Any, scheduler: Scheduler) -> Contract:
        """The pipeline, knowing its case."""
        return Contract(kernel, server, scheduler, case)

    with pipeline_factory(
        make_kernel, tmp_path, launch, kind=contract, sessions=20, companies=2
    ) as factory:
        yield lambda db_url, *, faults=None, **settings: factory(db_url, config=faults, **settings)
