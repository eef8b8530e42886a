"""`pcclip grade` (grade comparison pools against attribute records) and `pcclip quality` (the per-LLM table)."""

from __future__ import annotations

from typing import Optional

import typer

from pcclip.cli.context import db_from
from pcclip.cli.output import Format, print_rows


def grade_cmd(
    ctx: typer.Context,
    pool: Optional[int] = typer.Option(None, "--pool", help="Grade this pool (id from `pcclip comparisons`)."),
    all_pools: bool = typer.Option(False, "--all", help="Grade every pool that has comparisons."),
) -> None:
    """Grade LLM-written comparisons against the images' attribute records (deterministic; see docs/grading.md).

    Idempotent: comparisons already graded by this grader version are skipped.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pcclip.errors import PcclipError
    from pcclip.llm.grade import GRADER_VERSION
    from pcclip.llm.grade_pool import dataset_for_pool, grade_pool, pool_ids
    from pcclip.store import open_store

    if (pool is None) == (not all_pools):
        raise PcclipError("choose one of --pool ID and --all")
    store = open_store(db_from(ctx))
    try:
        ids = pool_ids(store) if all_pools else [pool]
        if not ids:
            typer.echo("no comparisons to grade; generate a pool first (`pcclip generate`)")
            return
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
            for pid in ids:
                task = bar.add_task(f"pool {pid}", total=None)

                def report(done: float, total: float | None = None, message: str = "", _t=task) -> None:
                    bar.update(_t, completed=done, total=total)

                try:
                    n = grade_pool(store, int(pid), dataset_for_pool(store, int(pid)), progress=report)
                except PcclipError as exc:
                    if not all_pools:
                        raise
                    # --all: a pool of data without attribute records (COCO, CUB captions...) is not gradable
                    bar.update(task, description=f"pool {pid}: skipped ({exc})", total=1, completed=1)
                    continue
                bar.update(task, description=f"pool {pid}: {n} graded ({GRADER_VERSION})")
        cols, rows = _quality(store, None)
        print_rows(cols, rows, title="comparison quality (accepted comparisons)", dense=True)
    finally:
        store.close()


# What the terminal table shows, formatted to fit 80 columns (CSV and JSON carry every column of the view, raw).
_COMPACT = (
    ("arm", "llm", "str"), ("pool_id", "pool", "str"), ("acceptance_rate", "acc.%", "pct"),
    ("n_graded", "n", "str"),
    ("claim_precision", "prec.%", "pct"), ("diff_recall", "recall%", "pct"),
    ("direction_error_rate", "rev.%", "pct"), ("hallucination_rate", "hall.%", "pct"),
    ("fully_correct_rate", "ok%", "pct"),
)


def _fmt(value: object, kind: str) -> object:
    if value is None or kind == "str":
        return value
    return f"{100 * float(value):.1f}" if kind == "pct" else f"{float(value):.1f}"


def _quality(store_or_path, experiment, compact: bool = True):  # noqa: ANN001, ANN202 - shared by both commands
    from pcclip.store.quality import quality_table

    cols, rows = quality_table(store_or_path, experiment)
    if not compact:
        return cols, rows
    idx = [cols.index(c) for c, _h, _k in _COMPACT]
    return [h for _c, h, _k in _COMPACT], [tuple(_fmt(r[i], k) for i, (_c, _h, k) in zip(idx, _COMPACT)) for r in rows]


def quality_cmd(
    ctx: typer.Context,
    experiment: Optional[str] = typer.Argument(None, help="Experiment name or id (default: every pool)."),
    csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    json: bool = typer.Option(False, "--json", help="Print JSON (a list of objects)."),
) -> None:
    """The per-LLM comparison-quality table: claim precision, recall of true differences, direction errors,
    hallucinations, the filter's acceptance rate, length and lexical diversity (see docs/grading.md)."""
    if csv and json:
        raise typer.BadParameter("choose one of --csv and --json")
    fmt = Format.csv if csv else Format.json if json else Format.table
    cols, rows = _quality(db_from(ctx), experiment, compact=fmt is Format.table)
    if not rows and fmt is Format.table:
        typer.echo("no graded comparison pools; run `pcclip grade --all` after generating")
        return
    print_rows(cols, rows, fmt, title="comparison quality (accepted comparisons)", dense=True)


def register(root: typer.Typer) -> None:
    """Add `grade` and `quality` to the root app."""
    root.command("grade")(grade_cmd)
    root.command("quality")(quality_cmd)
