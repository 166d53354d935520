"""The kernel's own plugin: the default (``trylast``) answers that belong to no other plugin."""

from __future__ import annotations

from kernel import hookimpl
from kernel.api import KernelAPI, Step


class CorePlugin:
    """Essential plugin ``core``."""

    @hookimpl(trylast=True)
    def run_task(self, kernel: KernelAPI, task: str, step: Step) -> dict[str, float]:
        """Run the step itself; wrappers around this hook add spans and timers."""
        return step()

    @hookimpl(trylast=True)
    def run_cycle(self, kernel: KernelAPI, step: Step) -> dict[str, float]:
        """Run the cycle itself; wrappers around this hook add a cycle span."""
        return step()
