"""Plugin ``chaos``: ``batchkernel chaos``, scheduler processes killed and disconnected under
provider faults until every request is terminal, then an audit of the end state
(:mod:`plugins.chaos.harness`, :mod:`plugins.chaos.audit`)."""

from __future__ import annotations

import typer

from kernel import hookimpl


class ChaosCommand:
    """Adds ``batchkernel chaos``."""

    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        """The ``chaos`` command (the options of :func:`plugins.chaos.soak.chaos_command`)."""
        from plugins.chaos.soak import chaos_command

        cli.command("chaos")(chaos_command)
