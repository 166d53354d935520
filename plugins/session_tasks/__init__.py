"""Plugin ``session-tasks``: the HR-session analysis tasks, whose answers fill the session's
columns (``session_analysis`` and its narrower variants, defined in
:mod:`plugins.common.session_tasks`)."""

from __future__ import annotations

from kernel import hookimpl
from kernel.api import KernelAPI
from plugins.common.exchange import TaskSpec
from plugins.common.session_tasks import session_tasks


class SessionTasks:
    """Registers the built-in session tasks."""

    @hookimpl
    def register_tasks(self, kernel: KernelAPI) -> list[TaskSpec]:
        """``session_analysis``, ``sentiment_analysis``, ``categorization`` and ``summary``."""
        return session_tasks()
