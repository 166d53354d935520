"""Plugin ``demo``: ``batchkernel demo``, synthetic data, the emulator and the whole pipeline on
embedded defaults (:mod:`plugins.demo.run`)."""

from __future__ import annotations

from typing import Annotated

import typer

from kernel import hookimpl


def demo_command(
    companies: Annotated[int, typer.Option(help="Synthetic companies.")] = 20,
    sessions: Annotated[int, typer.Option(help="Synthetic sessions in all.")] = 2000,
    database: Annotated[
        str | None, typer.Option(help="Database URL (default: a fresh SQLite file).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic data.")] = 7,
    provider: Annotated[
        str,
        typer.Option(
            help="Whose batch API to emulate and use (openai, azure-openai, gemini, anthropic)."
        ),
    ] = "openai",
    failures: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of answers the emulator refuses for good (HTTP 400), to see failed "
            "requests in the console and retry them.",
        ),
    ] = 0.0,
) -> None:
    """The main job on embedded defaults: synthetic data, the emulator, the pipeline until idle."""
    from plugins.demo.run import run_demo

    code = run_demo(
        companies=companies,
        sessions=sessions,
        database=database,
        seed=seed,
        provider=provider,
        failures=failures,
    )
    raise typer.Exit(code=code)


class DemoCommand:
    """Adds ``batchkernel demo``."""

    @hookimpl
    def register_commands(self, cli: typer.Typer) -> None:
        """The ``demo`` command."""
        cli.command("demo")(demo_command)
