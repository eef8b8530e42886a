"""Printing rows for people (a rich table) and for scripts (CSV, JSON)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from enum import Enum
from typing import Any, TextIO


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def print_rows(
    cols: Sequence[str],
    rows: Sequence[Sequence[Any]],
    fmt: Format = Format.table,
    *,
    title: str | None = None,
    out: TextIO | None = None,
    dense: bool = False,
) -> None:
    out = out or sys.stdout
    if fmt is Format.csv:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(cols)
        w.writerows(rows)
    elif fmt is Format.json:
        json.dump([dict(zip(cols, r)) for r in rows], out, indent=1, default=str)
        out.write("\n")
    else:
        from rich.console import Console
        from rich.table import Table

        if dense:  # many short numeric columns: no box lines, no wrapping inside a number
            from rich import box

            table = Table(title=title, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
            for i, c in enumerate(cols):
                widest = max([len(c)] + [len(_cell(r[i])) for r in rows])
                table.add_column(c, no_wrap=True, justify="left" if i == 0 else "right", min_width=min(widest, 24))
        else:
            table = Table(title=title, show_lines=False, header_style="bold")
            for c in cols:
                table.add_column(c, overflow="fold")
        for r in rows:
            table.add_row(*(_cell(v) for v in r))
        # never crop: a dense table wider than the terminal wraps instead of silently losing its last columns
        Console(file=out).print(table, crop=not dense)
