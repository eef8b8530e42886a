"""`pcclip datasets`: the dataset kinds and their options, and a check that opens a dataset from disk."""

from __future__ import annotations

from typing import Any, Optional

import typer

from pcclip.cli.output import Format, print_rows

app = typer.Typer(help="Dataset adapters: list the kinds, check a dataset on disk.", no_args_is_help=True)


def parse_option_pairs(pairs: list[str]) -> dict[str, Any]:
    """["k=v", ...] -> {k: v}; values stay strings (the adapters' pydantic models convert them), except
    none/null which mean None."""
    from pcclip.errors import PcclipError

    out: dict[str, Any] = {}
    for p in pairs:
        key, sep, value = p.partition("=")
        if not sep or not key.strip():
            raise PcclipError(f"--option {p!r}: expected KEY=VALUE, e.g. --option test_fraction=0.1")
        out[key.strip()] = None if value.strip().lower() in ("none", "null") else value.strip()
    return out


@app.command("list")
def list_cmd(
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The dataset kinds, with each option's type, default and meaning."""
    from pcclip.data.registry import KINDS

    rows = []
    for info in KINDS.values():
        try:
            opts = info.options()
        except ImportError as exc:  # e.g. the testbed module is missing in this build
            opts = [("?", "", "", f"options unavailable: {exc}")]
        rows.append([info.kind, "", "", info.description])
        for name, typ, default, help_ in opts:
            shown = "(required)" if default is ... else repr(default)
            rows.append(["", f"{name}: {typ}", shown, help_])
    print_rows(["kind", "option", "default", "description"], rows, Format.json if json else Format.table)


@app.command("check")
def check_cmd(
    kind: str = typer.Argument(..., help="Dataset kind (see `pcclip datasets list`)."),
    root: Optional[str] = typer.Argument(None, help="Dataset folder (the testbed needs none)."),
    option: list[str] = typer.Option([], "--option", "-o", help="Adapter option KEY=VALUE (repeatable)."),
    strict: bool = typer.Option(False, "--strict", help="Fail on the first unreadable image."),
    show: int = typer.Option(3, "--show", help="Items to show per split."),
    pairs: int = typer.Option(1000, "--pairs", help="Pairs per difference task (seed 0) when counting them."),
) -> None:
    """Open a dataset: split sizes, a few items, unreadable files, and the difference tasks it supports."""
    from rich.progress import Progress as RichProgress

    from pcclip.data.real_tasks import build_task, supported_tasks
    from pcclip.data.registry import open_dataset
    from pcclip.errors import PcclipError

    opts = parse_option_pairs(option)
    if root is not None:
        opts["root"] = root
    if strict:
        opts["strict"] = True
    with RichProgress(transient=True) as bar:
        task = bar.add_task(f"opening {kind}", total=None)

        def progress(done: float, total: float | None = None, message: str = "") -> None:
            bar.update(task, completed=done, total=total, description=message or f"opening {kind}")

        ds = open_dataset(kind, progress=progress, **opts)
    classes = ds.classnames
    typer.echo(f"{ds.name}  kind={ds.kind}  fingerprint={ds.fingerprint}")
    typer.echo(f"classes: {len(classes) if classes else 'none (captions only)'}"
               + (f" ({', '.join(classes[:5])}{', ...' if len(classes) > 5 else ''})" if classes else ""))
    split_rows = []
    for split in ds.splits():
        items = ds.items(split)
        n_cap = sum(1 for it in items if it.caption)
        n_lab = len({it.label for it in items if it.label is not None})
        split_rows.append([split, len(items), n_cap, n_lab])
    print_rows(["split", "images", "with caption", "classes present"], split_rows, title="splits")
    item_rows = []
    for split in ds.splits():
        for it in list(ds.items(split))[:show]:
            label = classes[it.label] if classes and it.label is not None else ""
            cap = (it.caption or "")[:60]
            item_rows.append([split, it.index, it.image, label, cap])
    print_rows(["split", "index", "image", "label", "caption"], item_rows, title="items")
    bad = getattr(ds, "unreadable", [])
    if bad:
        print_rows(["file", "reason"], [list(b) for b in bad[:20]], title=f"unreadable files skipped: {len(bad)}")
    else:
        typer.echo("unreadable files: none")
    task_rows = []
    for name in supported_tasks(ds):
        try:
            t = build_task(ds, name, seed=0, n_pairs=pairs)
            example = t.pairs[0].sentence if t.pairs else ""
            task_rows.append([f"diff/{name}", t.split, len(t.pairs), t.chance, example[:80]])
        except PcclipError as exc:  # a task that cannot be built (e.g. too few classes) is reported, not fatal
            task_rows.append([f"diff/{name}", "", 0, "", f"unavailable: {exc}"])
    if task_rows:
        cols = ["task", "split", "pairs (seed 0)", "chance", "example sentence"]
        print_rows(cols, task_rows, title="difference tasks")
    else:
        typer.echo("difference tasks: none for this kind")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="datasets")
