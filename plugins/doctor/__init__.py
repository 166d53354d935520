"""Plugin ``doctor``: ``batchkernel doctor``, one line per thing a run needs, each with its fix.

The kernel's own checks (settings, plugins, database, schema, clocks) are in
:mod:`plugins.doctor.checks`; every plugin adds its own through the ``health_checks`` hook (the
provider's key and endpoint, the cache backend).
"""

from __future__ import annotations

from typing import Annotated

import typer

from kernel import hookimpl
from plugins.cli.options import DatabaseOption, SettingsOption


def doctor_command(
    no_provider_check: Annotated[
        bool, typer.Option("--no-provider-check", help="Do not call the provider.")
    ] = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Check what a run needs: settings, plugins, database, schema, provider, cache, clocks.

    One line each, ✓ or ✗ with the fix; exit status 1 when a check failed.
    """
    from plugins.common.console import stdout_console
    from plugins.doctor.checks import run_checks
    from plugins.doctor.report import print_checks

    checks = run_checks(settings, database, remote=not no_provider_check)
    print_checks(stdout_console(), checks)
    if any(not check.ok for check in checks):
        raise typer.Exit(code=1)


class DoctorCommand:
    """Adds ``batchkernel doctor``."""

    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        """The ``doctor`` command."""
        cli.command("doctor")(doctor_command)
