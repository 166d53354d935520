"""A pipeline under test: a kernel on a real database, the real SDK, the emulator over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from plugins.emulator import EmulatorConfig, EmulatorServer
from tests.support.pipelines import Pipeline as SharedPipeline
from tests.support.pipelines import pipeline_factory, processor

__all__ = ["Pipeline", "make_pipeline", "processor"]


class Pipeline(SharedPipeline):
    """Everything a lifecycle test touches (the OpenAI emulator)."""

    server: EmulatorServer
    RUN_TIMEOUT: ClassVar[float] = 240


@pytest.fixture
def make_pipeline(make_kernel: Any, tmp_path: Path, processor: str) -> Iterator[Any]:
    """Build a pipeline: ``make_pipeline(db_url, sessions=60, companies=3, config=..., **settings)``."""

    def launch(config: EmulatorConfig | None) -> tuple[EmulatorServer, dict[str, Any]]:
        """The OpenAI emulator and the settings that point the kernel at it."""
        server = EmulatorServer(config or EmulatorConfig(seed=1)).start()
        return server, {
            "openai__base_url": server.base_url,
            "batch__max_requests_per_batch": 25,
            "batch__min_batch_size": 1,
            "openai__max_retries": 3,
            "plugins__processor": processor,
        }

    with pipeline_factory(
        make_kernel, tmp_path, launch, kind=Pipeline, sessions=60, companies=3
    ) as factory:
        yield factory
