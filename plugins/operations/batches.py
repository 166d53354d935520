"""``batchkernel batches list|show|cancel``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from plugins.cli.options import DatabaseOption, SettingsOption, open_kernel
from plugins.operations.common import (
    CompanyOption,
    JsonOption,
    PageOption,
    PageSizeOption,
    ProviderOption,
    SinceOption,
    TaskOption,
    YesOption,
    checked_page,
    confirm,
    out,
    print_json,
    print_rows,
    reading,
    report,
    say,
    text,
    usage_error,
    usd,
    when,
)

BatchId = Annotated[str, typer.Argument(metavar="ID", help="The batch's id (batches list).")]
StateOption = Annotated[
    str | None,
    typer.Option("--state", help="One state: planned, in_progress, completed, applied..."),
]
BATCH_COLUMNS = [
    ("id", "batch", text),
    ("company_id", "company", text),
    ("task", "task", text),
    ("state", "state", text),
    ("progress", "done", lambda p: f"{float(p or 0) * 100:.0f}%"),
    ("requests", "requests", text),
    ("cost_usd", "cost", usd),
    ("created_at", "created (UTC)", when),
]


def list_command(
    company: CompanyOption = None,
    state: StateOption = None,
    task: TaskOption = None,
    provider: ProviderOption = None,
    since: SinceOption = None,
    page: PageOption = 1,
    page_size: PageSizeOption = 50,
    as_json: JsonOption = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Batches, newest first, with their state and progress; filter and page through them."""
    from plugins.common.operations import filters as f
    from plugins.common.operations.listing import list_batches

    page, page_size = checked_page(page, page_size)
    try:
        chosen = f.Filters(
            company=f.text_value(company, "company", 64),
            state=f.batch_state(state),
            task=f.text_value(task, "task", 100),
            provider=f.text_value(provider, "provider", 50),
            since=f.since(since),
        )
        with reading(open_kernel(settings, database)) as conn:
            result = list_batches(conn, chosen, page, page_size)
    except f.FilterError as exc:
        raise usage_error(exc) from None
    if as_json:
        print_json(result.as_dict())
        return
    print_rows(
        result.rows,
        BATCH_COLUMNS,
        title=f"batches: {chosen.describe()}",
        page=page,
        has_next=result.has_next,
        next_hint="batchkernel batches list ...",
    )


def show_command(
    batch_id: BatchId,
    page: PageOption = 1,
    as_json: JsonOption = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """One batch: state, provider id, counts, cost, errors, its requests by state and a page of
    them."""
    from plugins.common.operations.details import batch_detail
    from plugins.operations.requests import REQUEST_COLUMNS

    page, _ = checked_page(page, 50)
    with reading(open_kernel(settings, database)) as conn:
        detail = batch_detail(conn, batch_id, page=page)
    if detail is None:
        say(f"no batch with id {batch_id!r}; see batchkernel batches list", problem=True)
        raise typer.Exit(code=1)
    if as_json:
        print_json(detail)
        return
    table = Table(show_header=False, title=f"batch {batch_id}")
    for key in (
        "company_id",
        "task",
        "model",
        "state",
        "provider_batch_id",
        "requests",
        "completed",
        "failed",
        "cost_usd",
        "created_at",
        "submitted_at",
        "ended_at",
        "applied_at",
        "note",
    ):
        table.add_row(key.replace("_", " "), text(detail.get(key)))
    table.add_row("progress", f"{detail['progress'] * 100:.0f}%")
    for state, n in sorted(detail["members_by_state"].items()):
        table.add_row(f"requests {state}", f"{n:,}")
    for error in detail["errors"]:
        table.add_row("provider error", f"{error['code']}: {error['message']}")
    out().print(table)
    members = detail["members"]
    print_rows(
        members["rows"],
        REQUEST_COLUMNS,
        title="its requests",
        page=page,
        has_next=members["has_next"],
        next_hint=f"batchkernel batches show {batch_id}",
    )


def cancel_command(
    batch_id: BatchId,
    yes: YesOption = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Cancel a batch: at the provider if it is there (what ran is applied, the rest is queued
    again), or before it reaches the provider. Written to the audit log."""
    from plugins.common.operations.actions import Actor, cancel_batch
    from plugins.common.operations.audit import cli_actor

    confirm(f"cancel batch {batch_id}?", yes)
    outcome = cancel_batch(open_kernel(settings, database), Actor(cli_actor()), batch_id)
    report(outcome)


def batches_group() -> typer.Typer:
    """The ``batches`` command group."""
    group = typer.Typer(help="Batches: list them, show one, cancel one.", no_args_is_help=True)
    group.command("list")(list_command)
    group.command("show")(show_command)
    group.command("cancel")(cancel_command)
    return group
