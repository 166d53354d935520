"""The ``batchkernel`` command: one sub-command per job in DESIGN.md, each with ``--help``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from kernel.cli.settings_command import show_settings
from kernel.types import CompanyStatus, KernelError

app = typer.Typer(
    name="batchkernel",
    help="Run LLM work through the OpenAI Batch API over your own database.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Schema management.", no_args_is_help=True)
app.add_typer(db_app, name="db")
companies_app = typer.Typer(help="Companies (tenants): list them, change their status.")
app.add_typer(companies_app, name="companies", no_args_is_help=True)
app.command("settings")(show_settings)
console = Console(stderr=True)
IMPORT_SHOWN = 50

SettingsOption = Annotated[
    Path | None,
    typer.Option("--settings", help="A settings.toml to load over the shipped defaults."),
]
DatabaseOption = Annotated[
    str | None, typer.Option("--database", help="Database URL (overrides database.url).")
]


def _overrides(database: str | None) -> dict[str, object]:
    """CLI flags that override settings, as dotted keys."""
    return {"database.url": database} if database else {}


def _kernel(settings_file: Path | None, database: str | None, **extra: object):
    """Load settings and build a kernel, turning configuration errors into a clean exit."""
    from kernel.manager import Kernel
    from kernel.settings import load_settings

    overrides = _overrides(database) | extra
    settings = load_settings(overrides, settings_file=settings_file)
    return Kernel.create(settings)


@db_app.command("upgrade")
def db_upgrade(settings: SettingsOption = None, database: DatabaseOption = None) -> None:
    """Create or migrate the schema to the newest revision."""
    from kernel.db.migrate import current_revision, upgrade

    kernel = _kernel(settings, database)
    upgrade(kernel.db)
    console.print(f"schema at revision {current_revision(kernel.db)} ({kernel.db.dialect})")


@app.command("import")
def import_sessions(
    file: Annotated[Path, typer.Argument(help="JSONL file, one session a line.", exists=True)],
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="Replace the messages of sessions whose content changed and re-enqueue their "
            "requests (not while a request of the session is in a running batch).",
        ),
    ] = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Load sessions from JSONL and enqueue one request per session; bad lines are reported.

    Exits with status 1 when a line was bad (after printing what was imported).
    """
    from kernel.db.migrate import upgrade
    from kernel.importer import ImportReport, ImportStopped, import_file

    def show(report: ImportReport) -> None:
        for kind, items in (("bad lines", report.problems), ("notes", report.notes)):
            for item in items[:IMPORT_SHOWN]:
                typer.echo(f"line {item.line}: {item.reason}", err=True)
            if len(items) > IMPORT_SHOWN:
                typer.echo(f"... and {len(items) - IMPORT_SHOWN} more {kind}", err=True)
        typer.echo(report.summary(), err=True)

    kernel = _kernel(settings, database)
    upgrade(kernel.db)
    try:
        report = import_file(kernel, file, update=update)
    except ImportStopped as stopped:
        show(stopped.report)
        typer.echo(f"error: {stopped}", err=True)
        raise typer.Exit(code=2) from stopped
    show(report)
    if report.problems:
        raise typer.Exit(code=1)


@companies_app.command("list")
def companies_list(settings: SettingsOption = None, database: DatabaseOption = None) -> None:
    """Every company with its status, from the database."""
    from rich.table import Table

    from kernel.cli.companies import list_companies

    table = Table("id", "name", "status")
    for row in list_companies(_kernel(settings, database)):
        table.add_row(*row)
    Console().print(table)


@companies_app.command("set-status")
def companies_set_status(
    company_id: Annotated[str, typer.Argument(metavar="ID", help="The company's id.")],
    status: Annotated[CompanyStatus, typer.Argument(metavar="STATUS", help="The new status.")],
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Set a company's status (ACTIVE, SUSPENDED, TRIAL, ARCHIVED); caches see it at once."""
    from kernel.cli.companies import set_company_status

    old = set_company_status(_kernel(settings, database), company_id, status)
    if old is None:
        console.print(f"[red]no company with id {company_id!r}[/red]")
        raise typer.Exit(code=1)
    console.print(f"company {company_id}: {old} -> {status.value}")


@app.command("plugins")
def plugins(settings: SettingsOption = None, database: DatabaseOption = None) -> None:
    """List every plugin: name, source and version, status, hooks."""
    from rich.table import Table

    from kernel.manager import describe_plugins

    kernel = _kernel(settings, database)
    table = Table("name", "source", "version", "role", "status", "hooks")
    for info in describe_plugins(kernel):
        status = info.status if not info.reason else f"{info.status}: {info.reason}"
        table.add_row(
            info.name, info.source, info.version or "-", info.role, status, ", ".join(info.hooks)
        )
    Console().print(table)


@app.command("run")
def run(
    once: Annotated[bool, typer.Option("--once", help="Run each task once, then exit.")] = False,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Run back to back until nothing is left.")
    ] = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """The scheduler: create batches, poll, apply results, retry, reconcile; stops on SIGTERM."""
    from kernel.scheduler import Scheduler

    kernel = _kernel(settings, database)
    scheduler = Scheduler(kernel)
    if once:
        scheduler.run_once()
    elif until_idle:
        outcome = scheduler.run_until_idle()
        if not outcome.idle:
            console.print(f"[red]not idle: {outcome.reason}[/red]")
            raise typer.Exit(code=1)
    else:
        scheduler.run_forever()


@app.command("demo")
def demo(
    companies: Annotated[int, typer.Option(help="Synthetic companies.")] = 20,
    sessions: Annotated[int, typer.Option(help="Synthetic sessions in all.")] = 2000,
    database: Annotated[
        str | None, typer.Option(help="Database URL (default: a fresh SQLite file).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic data.")] = 7,
) -> None:
    """The main job on embedded defaults: synthetic data, the emulator, the pipeline until idle."""
    from kernel.demo import run_demo

    code = run_demo(companies=companies, sessions=sessions, database=database, seed=seed)
    raise typer.Exit(code=code)


@app.command("emulator")
def emulator(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8100,
    settings: SettingsOption = None,
) -> None:
    """Run the OpenAI-compatible Batch API emulator alone (faults from settings [emulator])."""
    kernel = _kernel(settings, None, **{"emulator.port": port})
    handle = kernel.start_emulator()
    console.print(f"emulator listening at {handle.base_url} (Ctrl-C to stop)")
    try:
        handle.wait()
    except KeyboardInterrupt:
        handle.stop()


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    company: Annotated[str | None, typer.Option("--company", help="One company id.")] = None,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """The monitoring snapshot: requests and batches by state, cache, fallback, breakers."""
    import orjson

    from kernel.db.monitoring import MonitorReader
    from kernel.status import build_snapshot

    kernel = _kernel(settings, database)
    reader = MonitorReader.for_database(kernel.db)
    try:
        snapshot = build_snapshot(reader, kernel.settings, company=company)
    finally:
        reader.dispose()
    if company is not None and not snapshot["companies"]:
        console.print(f"[red]no company with id {company!r}[/red]")
        raise typer.Exit(code=1)
    if as_json:
        typer.echo(orjson.dumps(snapshot, option=orjson.OPT_INDENT_2).decode())
        return
    from kernel.cli.status_view import print_status

    print_status(Console(), snapshot)


@app.command("costs")
def costs(
    company: Annotated[str | None, typer.Option("--company", help="One company id.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this UTC date (YYYY-MM-DD) on.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV, one row per group.")] = False,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """Spend by company, model, processing type and day; estimates against actuals; savings."""
    from kernel.cli.costs_view import parse_since, print_costs, write_csv
    from kernel.costs import cost_report
    from kernel.db.monitoring import MonitorReader

    if as_json and as_csv:
        console.print("[red]--json and --csv exclude each other[/red]")
        raise typer.Exit(code=2)
    start = parse_since(since)
    kernel = _kernel(settings, database)
    reader = MonitorReader.for_database(kernel.db)
    try:
        with reader.connect() as conn:
            report = cost_report(conn, reader.dialect, company=company, since=start)
    finally:
        reader.dispose()
    if as_json:
        import orjson

        typer.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    elif as_csv:
        write_csv(report)
    else:
        print_costs(Console(), report)


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (serve.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port, 0 for any free one (serve.port).")] = None,
    settings: SettingsOption = None,
    database: DatabaseOption = None,
) -> None:
    """HTTP: health, the monitoring snapshot as JSON and CSV, Prometheus metrics, a dashboard."""
    import signal

    kernel = _kernel(settings, database)
    section = kernel.settings.serve
    handle = None
    try:
        handle = kernel.start_server(
            host or str(section.host), int(section.port) if port is None else port
        )
        signal.signal(signal.SIGTERM, lambda *_: handle.stop())
        console.print(
            f"serving {handle.url}/ (dashboard), /api/batch-monitoring, /metrics, /healthz, /readyz"
        )
        handle.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if handle is not None:
            handle.stop()


@app.command("bench")
def bench(
    companies: Annotated[int, typer.Option(help="Synthetic companies.")] = 100,
    sessions: Annotated[int, typer.Option(help="Pending requests (one session each).")] = 50_000,
    messages: Annotated[int, typer.Option(help="Messages per session.")] = 10,
    message_chars: Annotated[
        int, typer.Option(help="Characters per message (0: natural length).")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic data.")] = 7,
    repetitions: Annotated[int, typer.Option(min=1, help="Runs of each path (medians).")] = 3,
    scale: Annotated[
        bool, typer.Option("--scale", help="Run at 1,000, 10,000 and 100,000 pending requests.")
    ] = False,
    path: Annotated[
        list[str] | None,
        typer.Option("--path", help="A processor to run: original, optimized (default: both)."),
    ] = None,
    floor: Annotated[bool, typer.Option(help="Also run the raw SQL floor.")] = True,
    memory: Annotated[
        str,
        typer.Option(help="Traced run per path: build (the first create task), all (slow), none."),
    ] = "build",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    output: Annotated[Path | None, typer.Option(help="Also write the JSON to this file.")] = None,
    workdir: Annotated[Path, typer.Option(help="Where databases copies and files go.")] = Path(
        ".batchkernel/bench"
    ),
    database: DatabaseOption = None,
) -> None:
    """Original against optimized, side by side, on identical copies of one data set."""
    import orjson

    from kernel.bench import BenchOptions, DataSpec, run_bench, run_scale
    from kernel.bench.display import ProgressDisplay
    from kernel.bench.report import print_report
    from kernel.bench.scale import scale_table
    from kernel.bench.targets import check

    if memory not in ("build", "all", "none"):
        raise typer.BadParameter("--memory must be build, all or none")
    paths = tuple(path or ("original", "optimized"))
    if not set(paths) <= {"original", "optimized"}:
        raise typer.BadParameter("--path must be original or optimized")
    options = BenchOptions(
        DataSpec(companies, sessions, messages, message_chars, seed),
        database,
        repetitions,
        floor,
        "" if memory == "none" else memory,
        workdir,
        paths,
    )
    with ProgressDisplay(console) as display:
        if scale:
            result = run_scale(options, listener=display)
        else:
            result = run_bench(options, display)
            result["targets"] = check(result)
    data = orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(data + b"\n")
    if as_json:
        typer.echo(data.decode())
        return
    out = Console()
    if scale:
        out.print(scale_table(result))
        from kernel.bench.report import target_table

        out.print(target_table(result["targets"]))
    else:
        print_report(out, result)


def main() -> None:
    """Console-script entry point: run the app and turn kernel errors into a one-line message."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except KernelError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise SystemExit(2) from exc
