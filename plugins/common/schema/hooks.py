"""The processors' default answers about the schema's state, for the scheduler: work left,
provider files still to clean, submissions settled (``trylast``: a processor over other tables
answers first); and the schema's rules for every task, whose name is a request's
``processing_type`` and whose params the processors put on its requests."""

from __future__ import annotations

import re
from collections.abc import Sequence

from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.types import LocalBatch
from plugins.common.exchange import TaskSpec
from plugins.common.schema import queries

TASK_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
PARAMS = ("temperature", "max_output_tokens", "reasoning_effort")
"""Parameters a task may set for its requests (over ``model.*``)."""


class SchemaHooks:
    """Mixed into the ``original`` processor, which is registered at every start."""

    @hookimpl(trylast=True)
    def work_left(self, kernel: KernelAPI) -> dict[str, int]:
        """Pending and in-flight requests, batches not settled, ended or not cleaned."""
        return queries.work_left(kernel.db) | {
            "batches_uncleaned": queries.count_uncleaned(kernel.db)
        }

    @hookimpl(trylast=True)
    def uncleaned_batches(
        self, kernel: KernelAPI, limit: int, after: str | None
    ) -> list[LocalBatch]:
        """Applied batches whose provider files are not known to be gone, by id after ``after``."""
        return queries.uncleaned_batches(kernel.db, limit, after)

    @hookimpl(trylast=True)
    def record_cleaned(self, kernel: KernelAPI, batch_ids: Sequence[str]) -> int:
        """Mark these applied batches' provider files cleaned."""
        return queries.mark_cleaned(kernel.db, batch_ids)

    @hookimpl(trylast=True)
    def settled_submissions(self, kernel: KernelAPI, keys: Sequence[str]) -> set[str]:
        """Those of ``keys`` whose local batch is applied or abandoned."""
        return queries.settled_submission_keys(kernel.db, keys)

    @hookimpl(tryfirst=True)
    def task_problems(self, kernel: KernelAPI, task: TaskSpec) -> list[str]:
        """The task's name, instructions and params (first: before any provider's rules)."""
        problems = []
        if not TASK_NAME.match(task.name):
            problems.append(
                "the name must be lower-case letters, digits and _ "
                "(starting with a letter, at most 64)"
            )
        if not task.instructions.strip():
            problems.append("instructions are empty")
        unknown = sorted(set(task.params) - set(PARAMS))
        if unknown:
            problems.append(f"unknown params {', '.join(unknown)}; valid: {', '.join(PARAMS)}")
        return problems
