"""What the ``batches`` and ``requests`` commands share: filter options, reading with one
connection, printing a page, reporting an action's outcome and asking for confirmation."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import orjson
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table
from sqlalchemy import Connection

from kernel.api import KernelAPI
from plugins.cli.options import console
from plugins.common.operations.filters import FilterError, page_number

CompanyOption = Annotated[str | None, typer.Option("--company", help="One company's id.")]
TaskOption = Annotated[
    str | None, typer.Option("--task", help="One task (processing type), e.g. session_analysis.")
]
ProviderOption = Annotated[
    str | None, typer.Option("--provider", help="One provider, e.g. openai.")
]
SinceOption = Annotated[
    str | None,
    typer.Option("--since", help="Created since a date (2026-11-01) or an age (30m, 2h, 7d)."),
]
PageOption = Annotated[int, typer.Option("--page", help="Page number, from 1.")]
PageSizeOption = Annotated[int, typer.Option("--page-size", help="Rows per page (1 to 500).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
PIPED_WIDTH = 200


def out() -> Console:
    """Results go to stdout (wide when piped, so ids never break); messages to stderr. Made when
    used, so it sees the standard output of that moment, not the one of the first import."""
    return Console(width=None if sys.stdout.isatty() else PIPED_WIDTH)


def say(message: str, *, problem: bool = False) -> None:
    """One message on stderr, never wrapped mid-sentence, never read as markup; red if a problem."""
    console().print(escape(message), style="red" if problem else None, soft_wrap=True)


def usage_error(exc: FilterError) -> typer.Exit:
    """Print a filter problem in one line; exit status 2."""
    say(str(exc), problem=True)
    return typer.Exit(code=2)


def checked_page(page: int, page_size: int) -> tuple[int, int]:
    """Page and page size, validated."""
    try:
        return page_number(page), page_number(page_size, "page size", 500)
    except FilterError as exc:
        raise usage_error(exc) from None


@contextmanager
def reading(kernel: KernelAPI) -> Iterator[Connection]:
    """One read-only connection to the kernel's database."""
    with kernel.db.read_transaction() as session:
        yield session.connection()


def print_json(data: Any) -> None:
    """Indented JSON on stdout."""
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())


def print_rows(
    rows: list[dict[str, Any]],
    columns: Sequence[tuple[str, str, Callable[[Any], str]]],
    *,
    title: str,
    page: int,
    has_next: bool,
    next_hint: str,
) -> None:
    """A page of rows as a table (ids never wrapped), then where the next page is."""
    table = Table(
        *(
            Column(header, no_wrap=key != "error", overflow="fold" if key == "error" else "crop")
            for key, header, _ in columns
        ),
        title=title,
        box=box.SIMPLE_HEAD,
    )
    for row in rows:
        table.add_row(*(show(row.get(key)) for key, _, show in columns))
    out().print(table)
    if not rows:
        say("nothing matches these filters")
    elif has_next:
        say(f"page {page}; next: {next_hint} --page {page + 1}")
    else:
        say(f"page {page} (last)")


def text(value: Any) -> str:
    """A cell: ``-`` for none."""
    return "-" if value is None or value == "" else str(value)


def usd(value: Any) -> str:
    """A cost in dollars."""
    return f"{float(value or 0):.4f}"


def when(value: Any) -> str:
    """An ISO timestamp shortened to the minute."""
    return "-" if not value else str(value)[:16].replace("T", " ")


def confirm(question: str, yes: bool) -> None:
    """Ask before acting unless ``--yes``; a "no" exits 1 with nothing done."""
    if yes:
        return
    if not typer.confirm(question, default=False, err=True):
        say("nothing done")
        raise typer.Exit(code=1)


def report(outcome: Any) -> None:
    """An action's outcome in one line; non-zero exit when it was refused or failed."""
    say(outcome.message, problem=not outcome.ok)
    if outcome.ok:
        return
    raise typer.Exit(code=1)
