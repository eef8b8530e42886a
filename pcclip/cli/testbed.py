"""`pcclip testbed`: build the procedural testbed (images + base model) and show what it holds."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Optional

import typer

from pcclip.cli.output import print_rows

app = typer.Typer(help="The procedural testbed: captioned shapes and a small CLIP pretrained on them.",
                  no_args_is_help=True)

#: --small: a config that builds in about a minute on a laptop CPU (for trying things out; not for results)
SMALL_TESTBED = {"n_train": 3000, "n_pool": 500, "n_test": 500}
SMALL_PRETRAIN = {"steps": 200}


def _configs(seed: int, small: bool, n_train: Optional[int], n_pool: Optional[int], n_test: Optional[int],
             image_size: Optional[int], vary: Optional[str], steps: Optional[int], threads: int) -> tuple[Any, Any]:
    from pydantic import ValidationError

    from pcclip.data.testbed import testbed_config
    from pcclip.errors import SpecError
    from pcclip.pretrain import PretrainConfig

    tb: dict[str, Any] = {"seed": seed, **(SMALL_TESTBED if small else {})}
    for key, val in (("n_train", n_train), ("n_pool", n_pool), ("n_test", n_test), ("image_size", image_size)):
        if val is not None:
            tb[key] = val
    if vary:
        tb["vary"] = tuple(v.strip() for v in vary.split(",") if v.strip())
    pre: dict[str, Any] = {**(SMALL_PRETRAIN if small else {}), "threads": threads}
    if steps is not None:
        pre["steps"] = steps
    try:
        pcfg = PretrainConfig(**pre)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise SpecError(f"pretrain config: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    return testbed_config(**tb), pcfg


@contextmanager
def _bar(description: str):  # noqa: ANN202 - yields a Progress callback
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        task = bar.add_task(description, total=None)

        def progress(done: float, total: float | None = None, message: str = "") -> None:
            bar.update(task, completed=done, total=total, description=message or description)

        yield progress


_SEED = typer.Option(0, "--seed", help="World seed (images, splits).")
_SMALL = typer.Option(False, "--small", help="A small, fast config (3000/500/500 images, 200 steps).")
_NTRAIN = typer.Option(None, "--n-train", help="Images in the train split (pretraining).")
_NPOOL = typer.Option(None, "--n-pool", help="Images in the pool split (comparison generation).")
_NTEST = typer.Option(None, "--n-test", help="Images in the test split (evaluation).")
_SIZE = typer.Option(None, "--image-size", help="Image side in pixels (default 64).")
_VARY = typer.Option(None, "--vary", help="Comma-separated attributes that vary (default: all).")
_STEPS = typer.Option(None, "--steps", help="Pretraining steps (default 500).")
_THREADS = typer.Option(2, "--threads", help="torch CPU threads for pretraining.")


@app.command("build")
def build_cmd(
    ctx: typer.Context,
    seed: int = _SEED, small: bool = _SMALL, n_train: Optional[int] = _NTRAIN, n_pool: Optional[int] = _NPOOL,
    n_test: Optional[int] = _NTEST, image_size: Optional[int] = _SIZE, vary: Optional[str] = _VARY,
    steps: Optional[int] = _STEPS, threads: int = _THREADS,
    no_model: bool = typer.Option(False, "--no-model", help="Only render the images."),
) -> None:
    """Render the testbed's images and pretrain its base CLIP (both cached per machine; reruns are instant)."""
    from pcclip.cli.context import db_from
    from pcclip.data.testbed import build_testbed, register_dataset
    from pcclip.store import open_store

    tcfg, pcfg = _configs(seed, small, n_train, n_pool, n_test, image_size, vary, steps, threads)
    with _bar("rendering images") as progress:
        ds = build_testbed(tcfg, progress=progress)
    store = open_store(db_from(ctx))
    try:
        dataset_id = register_dataset(store, ds)
        typer.echo(f"dataset {ds.name} (id {dataset_id}): images in {ds.root}")
        if no_model:
            return
        from pcclip.pretrain import pretrain_base

        with _bar("pretraining base model") as progress:
            path = pretrain_base(pcfg, ds, store=store, progress=progress)
        hist = json.loads((path.parent / "history.json").read_text())
        typer.echo(f"base model: {path}")
        typer.echo(f"pretraining: {len(hist['steps'])} steps, {hist['wall_seconds']:.0f} s wall, "
                   f"{hist['cpu_seconds']:.0f} s CPU ({hist['threads']} threads), final loss "
                   f"{hist['steps'][-1]['loss']:.3f}")
    finally:
        store.close()


@app.command("show")
def show_cmd(
    seed: int = _SEED, small: bool = _SMALL, n_train: Optional[int] = _NTRAIN, n_pool: Optional[int] = _NPOOL,
    n_test: Optional[int] = _NTEST, image_size: Optional[int] = _SIZE, vary: Optional[str] = _VARY,
    steps: Optional[int] = _STEPS, threads: int = _THREADS,
    examples: int = typer.Option(3, "--examples", help="Captions and records to show per split."),
    pairs: int = typer.Option(500, "--pairs", help="Pairs per difference task."),
    eval_seeds: int = typer.Option(1, "--eval-seeds", help="Pair-sampling seeds to average the accuracies over."),
) -> None:
    """Counts per split, a few captions and attribute records, and (if built) the base model's accuracies."""
    from pcclip.data.testbed import build_testbed, testbed_root
    from pcclip.data.testbed_tasks import build_diff_tasks
    from pcclip.errors import PcclipError

    tcfg, pcfg = _configs(seed, small, n_train, n_pool, n_test, image_size, vary, steps, threads)
    if not (testbed_root(tcfg) / "config.json").exists():
        raise PcclipError("this testbed is not built yet; run `pcclip testbed build` with the same options")
    ds = build_testbed(tcfg)
    typer.echo(f"{ds.name}  fingerprint={ds.fingerprint}  images in {ds.root}")
    typer.echo(f"classes: {len(ds.classnames)} ({', '.join(ds.classnames[:4])}, ...)  varying: {', '.join(tcfg.vary)}")
    print_rows(["split", "images"], [[sp, len(ds.items(sp))] for sp in ds.splits()], title="splits")
    rows = []
    for sp in ds.splits():
        for it in list(ds.items(sp))[:examples]:
            rec = {k: v for k, v in (it.attributes or {}).items() if k not in ("rgb", "background", "objects")}
            rows.append([sp, it.index, it.caption, json.dumps(rec)])
    print_rows(["split", "index", "caption", "attributes"], rows, title="examples")
    tasks = build_diff_tasks(ds, 0, pairs)
    task_rows = [[f"diff/{t.name}", len(t.pairs), t.chance, t.pairs[0].sentence] for t in tasks]
    print_rows(["task", "pairs", "chance", "example (seed 0)"], task_rows, title="difference tasks (test split)")

    from pcclip.pretrain import base_model_path, quick_eval

    ckpt = base_model_path(pcfg, ds)
    if not ckpt.exists():
        typer.echo("base model: not built (run `pcclip testbed build` with the same options)")
        return
    hist = json.loads((ckpt.parent / "history.json").read_text())
    typer.echo(f"base model: {ckpt}  ({len(hist['steps'])} steps, {hist['wall_seconds']:.0f} s wall, "
               f"{hist['cpu_seconds']:.0f} s CPU)")
    scores = quick_eval(ckpt, ds, seeds=tuple(range(eval_seeds)), n_pairs=pairs)
    chance = {"zeroshot": 1 / len(ds.classnames)}
    print_rows(["metric", "accuracy", "chance"],
               [[k, round(v, 4), round(chance.get(k, 0.5), 4)] for k, v in scores.items()],
               title="base model on the test split")


def register(root: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    root.add_typer(app, name="testbed")
