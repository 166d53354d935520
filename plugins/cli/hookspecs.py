"""The command line's hooks: plugins add their commands and explain the errors they expect;
declared by the ``core-commands`` plugin's settings module."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernel import hookspec

if TYPE_CHECKING:
    import typer


class CommandSpec:
    """The ``batchkernel`` command line, extended by plugins."""

    @hookspec
    def register_commands(self, cli: typer.Typer) -> None:
        """Add this plugin's commands to the root Typer app; import heavy modules inside them."""

    @hookspec(firstresult=True)
    def explain_error(self, error: BaseException) -> tuple[str, int] | None:
        """An expected error as one line and an exit status; ``None``: a bug (traceback)."""
