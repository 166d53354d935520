"""Hook implementations of the ``budget`` plugin: ``select_companies`` and ``admit_batches``,
and the ``costs`` command."""

from __future__ import annotations

from collections.abc import Sequence

import typer

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.types import BatchPlan, Company
from plugins.budget.admission import admit
from plugins.budget.command import costs_command
from plugins.budget.shares import choose


class BudgetPlugin:
    """Budgets, fair shares and enqueued-token limits (enabled by default; disable by name)."""

    @hookimpl
    def select_companies(
        self, kernel: KernelAPI, companies: Sequence[Company]
    ) -> list[Company] | None:
        """Leave out companies held by a budget or a limit; share the cycle's batch slots."""
        return choose(kernel, companies)

    @hookimpl
    def admit_batches(
        self, kernel: KernelAPI, plans: Sequence[BatchPlan]
    ) -> list[tuple[BatchPlan, bool, str]]:
        """Estimate every plan and admit those within budgets and limits, atomically."""
        return admit(kernel, plans)

    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        """The ``costs`` command."""
        cli.command("costs")(costs_command)
