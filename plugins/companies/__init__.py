"""Plugin ``companies``: ``batchkernel companies list`` and ``companies set-status``."""

from __future__ import annotations

from typing import Annotated

import typer

from kernel import hookimpl
from kernel.cli.options import DatabaseOption, SettingsOption, console, open_kernel
from kernel.types import CompanyStatus


def list_command(settings: SettingsOption = None, database: DatabaseOption = None) -> None:
    """Every company with its status, from the database."""
    from rich.console import Console
    from rich.table import Table

    from plugins.companies.queries import list_companies

    table = Table("id", "name", "status")
    for row in list_companies(open_kernel(settings, database)):
        table.add_row(*row)
    Console().print(table)


def set_status_command(
    company_id: Annotated[str, typer.Argument(metavar="ID", help="The company's id.")],
    status: Annotated[CompanyStatus, typer.Argument(metavar="STATUS", help="The new status.")],
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Set a company's status (ACTIVE, SUSPENDED, TRIAL, ARCHIVED); caches see it at once."""
    from plugins.companies.queries import set_company_status

    old = set_company_status(open_kernel(settings, database), company_id, status)
    if old is None:
        console.print(f"[red]no company with id {company_id!r}[/red]")
        raise typer.Exit(code=1)
    console.print(f"company {company_id}: {old} -> {status.value}")


class CompaniesCommand:
    """Adds the ``companies`` command group."""

    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        """``companies list`` and ``companies set-status``."""
        group = typer.Typer(
            help="Companies (tenants): list them, change their status.", no_args_is_help=True
        )
        group.command("list")(list_command)
        group.command("set-status")(set_status_command)
        cli.add_typer(group, name="companies")
