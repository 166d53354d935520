"""``batchkernel requests list|show|retry|cancel``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from plugins.cli.options import DatabaseOption, SettingsOption, open_kernel
from plugins.common import calls
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
    when,
)

RequestIds = Annotated[
    list[str] | None, typer.Argument(metavar="[ID]...", help="Request ids (requests list).")
]
StateOption = Annotated[
    str | None,
    typer.Option("--state", help="One state: pending, in_flight, complete, failed."),
]
BatchOption = Annotated[str | None, typer.Option("--batch", help="One batch's requests.")]
REQUEST_COLUMNS = [
    ("id", "request", text),
    ("company_id", "company", text),
    ("task", "task", text),
    ("state", "state", text),
    ("attempts", "tries", text),
    ("requested_at", "requested (UTC)", when),
    ("error", "error", text),
]


def _filters(
    company: str | None,
    state: str | None,
    task: str | None,
    provider: str | None,
    since: str | None,
    batch: str | None = None,
) -> Any:
    """The filters from the options; a bad value exits 2 with what is valid."""
    from plugins.common.operations import filters as f

    try:
        return f.Filters(
            company=f.text_value(company, "company", 64),
            state=f.request_state(state),
            task=f.text_value(task, "task", 100),
            provider=f.text_value(provider, "provider", 50),
            since=f.since(since),
            batch=f.text_value(batch, "batch", 36),
        )
    except f.FilterError as exc:
        raise usage_error(exc) from None


def list_command(
    company: CompanyOption = None,
    state: StateOption = None,
    task: TaskOption = None,
    provider: ProviderOption = None,
    since: SinceOption = None,
    batch: BatchOption = None,
    page: PageOption = 1,
    page_size: PageSizeOption = 50,
    as_json: JsonOption = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Requests, newest first, with state, attempts, cost and error; filter and page."""
    from plugins.common.operations.filters import FilterError
    from plugins.common.operations.listing import list_requests

    page, page_size = checked_page(page, page_size)
    chosen = _filters(company, state, task, provider, since, batch)
    try:
        with reading(open_kernel(settings, database)) as conn:
            result = list_requests(conn, chosen, page, page_size)
    except FilterError as exc:
        raise usage_error(exc) from None
    if as_json:
        print_json(result.as_dict())
        return
    print_rows(
        result.rows,
        REQUEST_COLUMNS,
        title=f"requests: {chosen.describe()}",
        page=page,
        has_next=result.has_next,
        next_hint="batchkernel requests list ...",
    )


def _print_detail(detail: dict[str, Any]) -> None:
    """A request as a table of facts, then its input, the provider's answer and the result."""
    table = Table(show_header=False, title=f"request {detail['id']}")
    for key in (
        "company_id",
        "session",
        "task",
        "model",
        "provider",
        "state",
        "attempts",
        "batch_id",
        "requested_at",
        "completed_at",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "provider_request_id",
    ):
        if key in detail:
            table.add_row(key.replace("_", " "), text(detail[key]))
    out().print(table)
    if detail["error"]:
        out().print(Panel(Text(detail["error"]), title="error", border_style="red"))
    lines = Text()
    if detail["input"]["instructions"]:
        lines.append("instructions: ", style="bold").append(detail["input"]["instructions"] + "\n")
    for message in detail["input"]["messages"]:
        lines.append(f"{message['role']}: ", style="bold").append(message["content"] + "\n")
    out().print(Panel(lines, title="input"))
    answer = detail["answer"]
    if answer is None:
        out().print(
            Panel(
                Text("no answer stored (not answered yet, or answered before answers were kept)"),
                title="provider's answer",
            )
        )
    else:
        out().print(Panel(Text(answer["line"]), title="provider's answer (raw line)"))
    if detail["result"] is not None:
        result = Table(show_header=False)
        for key, value in detail["result"].items():
            result.add_row(key, text(value))
        out().print(Panel(result, title="stored result"))


def show_command(
    request_id: Annotated[str, typer.Argument(metavar="ID", help="The request's id.")],
    as_json: JsonOption = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """One request: its prompt input, the provider's raw answer, the stored result or error,
    attempts, tokens and cost."""
    from plugins.common.operations.details import request_detail

    kernel = open_kernel(settings, database)
    instructions = {name: task.instructions for name, task in calls.tasks(kernel).items()}
    with reading(kernel) as conn:
        detail = request_detail(conn, request_id, instructions)
    if detail is None:
        say(f"no request with id {request_id!r}; see batchkernel requests list", problem=True)
        raise typer.Exit(code=1)
    if as_json:
        print_json(detail)
        return
    _print_detail(detail)


def _act(
    ids: list[str] | None,
    every: bool,
    filters: Any,
    yes: bool,
    settings: Any,
    database: str | None,
    *,
    verb: str,
    one: Any,
    matching: Any,
) -> None:
    """Run an action on the given ids, or on every request matching the filters."""
    from plugins.common.operations.actions import Actor
    from plugins.common.operations.audit import cli_actor
    from plugins.common.operations.filters import FilterError

    if bool(ids) == every:
        flag = "--all-failed" if verb == "retry" else "--all-pending"
        say(f"name request ids, or give {flag} with filters (not both)", problem=True)
        raise typer.Exit(code=2)
    what = f"{len(ids)} request(s)" if ids else f"every matching request ({filters.describe()})"
    confirm(f"{verb} {what}?", yes)
    kernel = open_kernel(settings, database)
    actor = Actor(cli_actor())
    failed = False
    if ids:
        for request_id in ids:
            outcome = one(kernel, actor, request_id)
            say(outcome.message, problem=not outcome.ok)
            failed = failed or not outcome.ok
    else:
        try:
            report(matching(kernel, actor, filters))
        except FilterError as exc:
            raise usage_error(exc) from None
    if failed:
        raise typer.Exit(code=1)


def retry_command(
    ids: RequestIds = None,
    all_failed: Annotated[
        bool, typer.Option("--all-failed", help="Every failed request matching the filters.")
    ] = False,
    company: CompanyOption = None,
    task: TaskOption = None,
    provider: ProviderOption = None,
    since: SinceOption = None,
    yes: YesOption = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Send failed requests round again (their attempts start over). Audited."""
    from plugins.common.operations.actions import retry_matching, retry_request

    filters = _filters(company, None, task, provider, since)
    _act(
        ids,
        all_failed,
        filters,
        yes,
        settings,
        database,
        verb="retry",
        one=retry_request,
        matching=retry_matching,
    )


def cancel_command(
    ids: RequestIds = None,
    all_pending: Annotated[
        bool, typer.Option("--all-pending", help="Every pending request matching the filters.")
    ] = False,
    company: CompanyOption = None,
    task: TaskOption = None,
    provider: ProviderOption = None,
    since: SinceOption = None,
    yes: YesOption = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Close pending requests (not yet in a batch) as failed, "cancelled by" you. Audited."""
    from plugins.common.operations.actions import cancel_matching, cancel_request

    filters = _filters(company, None, task, provider, since)
    _act(
        ids,
        all_pending,
        filters,
        yes,
        settings,
        database,
        verb="cancel",
        one=cancel_request,
        matching=cancel_matching,
    )


def requests_group() -> typer.Typer:
    """The ``requests`` command group."""
    group = typer.Typer(
        help="Requests: list them, show one (input, answer, result), retry or cancel them.",
        no_args_is_help=True,
    )
    group.command("list")(list_command)
    group.command("show")(show_command)
    group.command("retry")(retry_command)
    group.command("cancel")(cancel_command)
    return group
