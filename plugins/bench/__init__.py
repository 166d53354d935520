"""Plugin ``bench``: ``batchkernel bench``, the original and the optimized processor side by side
on identical copies of one synthetic data set, with a raw SQL floor, per-stage figures and their
ratios (:mod:`plugins.bench.runner`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kernel import hookimpl
from plugins.cli.options import DatabaseOption, console


def bench_command(
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
        typer.Option(help="Traced run per path: build (batch building), all (slow), none."),
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
    from rich.console import Console

    from plugins.bench.display import ProgressDisplay
    from plugins.bench.options import BenchOptions, DataSpec
    from plugins.bench.report import print_report, target_table
    from plugins.bench.runner import run_bench
    from plugins.bench.scale import run_scale, scale_table
    from plugins.bench.targets import check

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
    with ProgressDisplay(console()) as display:
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
        out.print(target_table(result["targets"]))
    else:
        print_report(out, result)


class BenchCommand:
    """Adds ``batchkernel bench``."""

    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        """The ``bench`` command."""
        cli.command("bench")(bench_command)
