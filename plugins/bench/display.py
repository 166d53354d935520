"""The progress display while the bench runs: a bar over the measured runs, the current run and
the stage it is in, on stderr so that ``--json`` output stays clean."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from plugins.bench.runner import Listener


class ProgressDisplay(Listener):
    """A rich progress bar fed by the runner's events."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task: TaskID | None = None

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def phase(self, text: str, total: int = 0) -> None:
        """Replace the bar with one for the new phase."""
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.task = self.progress.add_task(text, total=total or None, detail="")

    def run_started(self, label: str) -> None:
        """Show which run is going."""
        if self.task is not None:
            self.progress.update(self.task, detail=label)

    def stage(self, label: str, stage: str, passes: int) -> None:
        """Show the stage the run is in."""
        if self.task is not None:
            self.progress.update(self.task, detail=f"{label}: pass {passes}, {stage}")

    def run_finished(self, label: str, seconds: float) -> None:
        """Count the run and log its time above the bar."""
        if self.task is not None:
            self.progress.advance(self.task)
        self.console.print(f"[dim]{label}: {seconds:.1f} s[/dim]")
