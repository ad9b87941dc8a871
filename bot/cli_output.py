"""Printing the CLI's tables: rich on a terminal, full-width plain text when piped.

Rich sizes a table to the terminal, and to 80 columns when stdout is a pipe, cutting cells to
"countdown-T-…" and "¥1,3…". A pipe (a file, `less`, a CI log) has no width to respect, so there
the table is printed as wide as its longest cells, without colour codes.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

# Wide enough for any table these commands print; the table itself decides its real width.
_UNBOUNDED = 100_000


def table_console(file: TextIO | None = None) -> Console:
    """A console for `file` (stdout by default): the usual one on a terminal, unbounded otherwise."""
    stream = file if file is not None else sys.stdout
    if stream.isatty():
        return Console(file=stream)
    return Console(file=stream, width=_UNBOUNDED, color_system=None, highlight=False, emoji=False)


def print_table(table: Table, file: TextIO | None = None) -> None:
    """Print `table` without cutting a cell, whatever stdout is."""
    console = table_console(file)
    if not console.is_terminal:
        # Exactly as wide as the table needs, so a centred title sits over the table.
        console.width = max(1, Measurement.get(console, console.options, table).maximum)
    console.print(table)
