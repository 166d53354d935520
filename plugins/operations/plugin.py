"""The ``operations`` plugin's hooks: its commands, and a metrics sample after scheduler cycles."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import typer

from kernel import hookimpl
from kernel.api import KernelAPI


class OperationsPlugin:
    """Adds ``batches`` and ``requests``; samples the monitoring totals once a minute."""

    def __init__(self) -> None:
        self._writer: Any = None

    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        """The ``batches`` and ``requests`` command groups."""
        from plugins.operations.batches import batches_group
        from plugins.operations.requests import requests_group

        cli.add_typer(batches_group(), name="batches")
        cli.add_typer(requests_group(), name="requests")

    @hookimpl(wrapper=True)
    def run_cycle(
        self, kernel: KernelAPI, step: Callable[[], dict[str, float]]
    ) -> Generator[None, dict[str, float], dict[str, float]]:
        """After each cycle, write this minute's sample unless some process has."""
        result = yield
        try:
            if self._writer is None:
                from plugins.common.monitoring.samples import SampleWriter

                self._writer = SampleWriter(kernel.db.url)
            self._writer.maybe_write()
        except Exception as exc:
            kernel.log.warning("metrics sample not written: %s", exc)
        return result

    @hookimpl
    def shutdown(self, kernel: KernelAPI) -> None:
        """Close the sample writer's connection."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
