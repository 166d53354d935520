"""Plugin ``companies``: ``batchkernel companies list``, ``set-status``, ``pause``, ``resume`` and
``set-provider``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from kernel import hookimpl
from plugins.cli.options import DatabaseOption, SettingsOption, console, open_kernel
from plugins.common.schema.statuses import CompanyStatus


def list_command(settings: SettingsOption = None, database: DatabaseOption = None) -> None:
    """Every company with its status and own provider list, from the database."""
    from rich.console import Console
    from rich.table import Table

    from plugins.companies.queries import list_companies

    table = Table("id", "name", "status", "paused since (UTC)", "providers")
    kernel = open_kernel(settings, database)
    companies = list_companies(kernel)
    for company_id, name, status, paused_at, providers in companies:
        table.add_row(company_id, name, status, paused_at or "-", ", ".join(providers) or "-")
    Console().print(table)


def set_status_command(
    company_id: Annotated[str, typer.Argument(metavar="ID", help="The company's id.")],
    status: Annotated[CompanyStatus, typer.Argument(metavar="STATUS", help="The new status.")],
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Set a company's status (ACTIVE, SUSPENDED, TRIAL, ARCHIVED); caches see it at once."""
    from plugins.companies.queries import set_company_status

    kernel = open_kernel(settings, database)
    old = set_company_status(kernel, company_id, status)
    if old is None:
        console().print(f"[red]no company with id {company_id!r}[/red]")
        raise typer.Exit(code=1)
    console().print(f"company {company_id}: {old} -> {status.value}")


CompanyId = Annotated[str, typer.Argument(metavar="ID", help="The company's id.")]


def _pause(company_id: str, paused: bool, settings: Any, database: str | None) -> None:
    """Pause or resume one company as the command line's user; audited."""
    from plugins.common.operations.actions import Actor, set_paused
    from plugins.common.operations.audit import cli_actor

    outcome = set_paused(open_kernel(settings, database), Actor(cli_actor()), company_id, paused)
    console().print(escape(outcome.message), style=None if outcome.ok else "red", soft_wrap=True)
    if not outcome.ok:
        raise typer.Exit(code=1)


def pause_command(
    company_id: CompanyId, settings: SettingsOption = None, database: DatabaseOption = None
) -> None:
    """Stop claiming a company's requests; its batches already at the provider finish."""
    _pause(company_id, True, settings, database)


def resume_command(
    company_id: CompanyId, settings: SettingsOption = None, database: DatabaseOption = None
) -> None:
    """Claim a paused company's requests again."""
    _pause(company_id, False, settings, database)


def set_provider_command(
    company_id: CompanyId,
    providers: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="NAME...", help="Providers in order, primary first.", show_default=False
        ),
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Drop the company's list: routing.providers again.")
    ] = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Route a company's new batches to its own providers, in order (failover to the next);
    its batches already at a provider finish there. Audited."""
    from plugins.common.operations.actions import Actor, set_providers
    from plugins.common.operations.audit import cli_actor

    names = list(providers or [])
    if bool(names) == clear:
        console().print("[red]name the providers, or give --clear (not both)[/red]")
        raise typer.Exit(code=2)
    outcome = set_providers(open_kernel(settings, database), Actor(cli_actor()), company_id, names)
    console().print(escape(outcome.message), style=None if outcome.ok else "red", soft_wrap=True)
    if not outcome.ok:
        raise typer.Exit(code=1)


class CompaniesCommand:
    """Adds the ``companies`` command group."""

    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        """``companies list``, ``set-status``, ``pause``, ``resume`` and ``set-provider``."""
        group = typer.Typer(
            help="Companies (tenants): list them, change their status, pause or resume them, "
            "choose their providers.",
            no_args_is_help=True,
        )
        group.command("list")(list_command)
        group.command("set-status")(set_status_command)
        group.command("pause")(pause_command)
        group.command("resume")(resume_command)
        group.command("set-provider")(set_provider_command)
        cli.add_typer(group, name="companies")
