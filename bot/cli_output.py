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


def print_table(table: Table, file: TextIO | None = None, *, console: Console | None = None) -> None:
    """Print `table` without cutting a cell, whatever stdout is.

    On a terminal too narrow for it (a report has twenty columns), the table is printed turned,
    its columns as rows, when that fits: rich would otherwise cut every cell to "…"."""
    console = console or table_console(file)
    if not console.is_terminal:
        # Exactly as wide as the table needs, so a centred title sits over the table.
        console.width = max(1, _width(console, table))
        console.print(table)
        return
    if _width(console, table) > console.width:
        turned = transposed(table)
        if _width(console, turned) <= console.width:
            console.print(turned)
            return
        console.print(table)
        console.print("(wider than this terminal: widen it, or pipe it into `less -S`)", style="dim")
        return
    console.print(table)


def _width(console: Console, table: Table) -> int:
    """How wide `table` wants to be, whatever the console's own width."""
    return Measurement.get(console, console.options.update_width(_UNBOUNDED), table).maximum


def transposed(table: Table) -> Table:
    """`table` turned: one row per column (its header first), one column per row."""
    turned = Table(title=table.title)
    rows = [list(column.cells) for column in table.columns]
    turned.add_column("")
    for cell in rows[0] if rows else []:
        turned.add_column(str(cell), justify="right")
    for column, cells in zip(table.columns[1:], rows[1:], strict=True):
        turned.add_row(str(column.header), *(str(c) for c in cells))
    return turned
