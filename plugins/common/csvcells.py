"""CSV that spreadsheets open as data: cells that would start a formula are neutralised.

A spreadsheet treats a cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula (``=HYPERLINK(...)``, ``+SUM(1+1)``, ``-2+3``), so a company id or name from
the database could run in the reader's spreadsheet. As OWASP recommends, such a text cell is
written with a single quote in front; numbers we write ourselves (``-0.5``) are left alone.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """The value to write: text that starts like a formula gets a leading single quote."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and PLAIN_NUMBER.fullmatch(value) is None
    ):
        return "'" + value
    return value


class SafeWriter:
    """A ``csv.writer`` whose every row goes through :func:`safe_cell`.

    Lines end in CR LF (RFC 4180): the csv module quotes a cell only for the characters of the
    line terminator, so this is what keeps a carriage return inside a name from splitting a row.
    """

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out, lineterminator="\r\n")

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row with neutralised cells."""
        self._writer.writerow([safe_cell(value) for value in row])
