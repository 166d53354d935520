"""Where commands print their tables: standard output, never squeezed when piped.

Rich sizes a console that is not a terminal to 80 columns, which squeezes wide tables into
``0.0…``; piped output gets room for the table's natural width instead (``COLUMNS`` still wins).
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

PIPED_WIDTH = 200


def stdout_console() -> Console:
    """A console on standard output: the terminal's width, or wide enough when piped."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return Console()
    return Console(width=PIPED_WIDTH)
