"""`pcclip finetune` and `pcclip eval`: one PC-CLIP finetune, or one evaluation, as a single step with a progress
bar. They call the same functions as the runner's jobs (`pcclip.train.finetune`, `pcclip.evaluate.evaluate_run`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional

import typer

from pcclip.cli.context import db_from
from pcclip.errors import PcclipError

MODEL_HELP = "'testbed' (the dataset's pretrained base model) or an open_clip architecture, e.g. ViT-B-32."


@contextmanager
def rich_bar(label: str) -> Iterator[Any]:
    """A rich progress bar wrapped as a pcclip Progress callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[msg]}")) as bar:
        task = bar.add_task(label, total=None, msg="")

        def report(done: float, total: float | None = None, message: str = "") -> None:
            bar.update(task, completed=done, total=total, msg=message)

        yield report


def _open_dataset_row(store: Any, dataset_id: int) -> Any:
    from pcclip.data.registry import open_dataset
    from pcclip.store.tables import Dataset

    with store.session() as s:
        row = s.get(Dataset, dataset_id)
    if row is None:
        raise PcclipError(f"no dataset with id {dataset_id}; list them with `pcclip datasets list`")
    options = {k: v for k, v in json.loads(row.config_json).items() if k not in ("kind", "name")}
    return open_dataset(row.kind, **options)


def _model_ref(store: Any, model: str, pretrained: Optional[str], checkpoint: Optional[str], ds: Any,
               progress: Any) -> Any:
    from pcclip.models import ModelRef

    if model == "testbed":
        if ds.kind != "testbed":
            raise PcclipError(f"--model testbed needs a testbed dataset, not {ds.kind}; name an architecture")
        from pcclip.pretrain import PretrainConfig, pretrain_base

        ref = ModelRef.testbed(pretrain_base(PretrainConfig(), ds, store=store, progress=progress))
        return ref.with_checkpoint(checkpoint) if checkpoint else ref
    return ModelRef(name=model, pretrained=pretrained, checkpoint=checkpoint)


def finetune_cmd(
    ctx: typer.Context,
    pool: int = typer.Argument(..., help="Comparison pool id (see `pcclip comparisons`)."),
    n: int = typer.Option(..., "--n", help="Use the pool's first N accepted comparisons."),
    seed: int = typer.Option(0, help="Training seed."),
    profile: str = typer.Option("testbed", help="FinetuneConfig profile: testbed or paper (docs/method.md)."),
    model: str = typer.Option("testbed", help=MODEL_HELP),
    pretrained: Optional[str] = typer.Option(None, help="open_clip pretrained tag of --model."),
    checkpoint: Optional[str] = typer.Option(None, help="Start from these weights (a file for --model's arch)."),
    lr: Optional[float] = typer.Option(None, help="Learning rate (profile default otherwise)."),
    epochs: Optional[int] = typer.Option(None),
    batch_size: Optional[int] = typer.Option(None),
    rehearsal: Optional[float] = typer.Option(None, help="Weight of the CLIP loss on the pool's captions."),
    alpha: Optional[float] = typer.Option(None, help="Weight averaging: alpha * finetuned + (1 - alpha) * base."),
    train_params: Optional[str] = typer.Option(None, help="text_transformer, text_tower or both."),
    loss: Optional[str] = typer.Option(None, help="contrastive or mse."),
    variant: str = typer.Option("", help="Label stored on the run (e.g. the setting swept)."),
    device: str = typer.Option("cpu", help="torch device."),
) -> None:
    """Finetune a model with PC-CLIP on a comparison pool; stores a run with its metrics and checkpoint."""
    from pcclip.llm.pool import accepted_comparisons
    from pcclip.paths import workdir
    from pcclip.store import open_store
    from pcclip.store.tables import Pool, Run
    from pcclip.train import FinetuneConfig, finetune

    store = open_store(db_from(ctx))
    with store.session() as s:
        prow = s.get(Pool, pool)
    if prow is None:
        raise PcclipError(f"no comparison pool with id {pool}; list them with `pcclip comparisons`")
    if prow.dataset_id is None:
        raise PcclipError(f"pool {pool} has no dataset recorded; regenerate it with `pcclip generate`")
    overrides = {k: v for k, v in dict(lr=lr, epochs=epochs, batch_size=batch_size, rehearsal_weight=rehearsal,
                                       weight_average_alpha=alpha, train_params=train_params, loss=loss).items()
                 if v is not None}
    try:
        cfg = FinetuneConfig.profile(profile, seed=seed, **overrides)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise PcclipError(f"finetune config: {str(exc).splitlines()[-1].strip()}") from None
    comps = [(c.item_i, c.item_j, c.text) for c in accepted_comparisons(store, pool, n)]
    with rich_bar("finetune") as bar:
        ds = _open_dataset_row(store, prow.dataset_id)
        ref = _model_ref(store, model, pretrained, checkpoint, ds, bar)
        with store.session() as s:
            run = Run(arm=f"pool-{pool}", llm_id=prow.llm_id, pool_id=pool, n=n, seed=seed, variant=variant,
                      base_model=ref.model_dump_json(), config_json=cfg.model_dump_json())
            s.add(run)
            s.flush()
            run_id = int(run.id)
        out = workdir(store.path) / "runs" / f"run-{run_id}"
        path = finetune(store, ref, ds, comps, cfg, run_id, out, device=device, progress=bar, split=prow.split)
    typer.echo(f"run {run_id}: checkpoint {path}")


def eval_cmd(
    ctx: typer.Context,
    run: Optional[int] = typer.Argument(None, help="Run id to evaluate (a finetune); omit to evaluate --model."),
    dataset: Optional[int] = typer.Option(None, "--dataset", help="Dataset id (default: the run's pool's)."),
    model: str = typer.Option("testbed", help=MODEL_HELP + " Used when no run is given."),
    pretrained: Optional[str] = typer.Option(None, help="open_clip pretrained tag of --model."),
    seeds: int = typer.Option(5, help="Pair-sampling seeds of the difference tasks (0..seeds-1)."),
    n_pairs: int = typer.Option(500, help="Test pairs per difference task and seed."),
    comparative: bool = typer.Option(True, help="Comparative prompting."),
    geometry: bool = typer.Option(True, help="Embedding geometry."),
    alpha: float = typer.Option(0.8, help="Comparative prompting alpha."),
    device: str = typer.Option("cpu", help="torch device."),
) -> None:
    """Evaluate a run (or a base model) and store result rows; prints the rows."""
    from sqlmodel import select

    from pcclip.cli.output import print_rows
    from pcclip.evaluate import EvalConfig, evaluate_run
    from pcclip.models import ModelRef
    from pcclip.store import open_store
    from pcclip.store.tables import Artifact, Pool, Result, Run

    store = open_store(db_from(ctx))
    cfg = EvalConfig(seeds=list(range(seeds)), n_pairs=n_pairs, comparative=comparative, geometry=geometry,
                     comparative_alpha=alpha)
    with rich_bar("evaluate") as bar:
        image_ref = None
        if run is not None:
            with store.session() as s:
                row = s.get(Run, run)
                if row is None:
                    raise PcclipError(f"no run with id {run}; list them with `pcclip results`")
                prow = s.get(Pool, row.pool_id) if row.pool_id else None
                art = s.get(Artifact, row.checkpoint_artifact_id) if row.checkpoint_artifact_id else None
            ds_id = dataset or (prow.dataset_id if prow else None)
            if ds_id is None:
                raise PcclipError(f"run {run} has no pool dataset; pass --dataset ID")
            ds = _open_dataset_row(store, ds_id)
            try:
                base = ModelRef.model_validate_json(row.base_model)
            except ValueError:
                raise PcclipError(f"run {run}: its base model is not recorded as a ModelRef; "
                                  "evaluate its checkpoint with --model and --dataset") from None
            ref = base.with_checkpoint(art.path) if art else base
            trains_image = json.loads(row.config_json or "{}").get("train_params") == "both"
            image_ref = None if trains_image else base
            run_id = run
        else:
            if dataset is None:
                raise PcclipError("give a run id, or --dataset ID to evaluate --model")
            ds = _open_dataset_row(store, dataset)
            ref = _model_ref(store, model, pretrained, None, ds, bar)
            with store.session() as s:
                new = Run(arm="base", n=0, base_model=ref.model_dump_json())
                s.add(new)
                s.flush()
                run_id = int(new.id)
        evaluate_run(store, run_id, ref, ds, cfg, device=device, progress=bar, image_model=image_ref)
    with store.session() as s:
        rows = s.exec(select(Result).where(Result.run_id == run_id).order_by(Result.task, Result.seed)).all()
    print_rows(["task", "seed", "metric", "value", "chance", "n"],
               [(r.task, r.seed, r.metric, r.value, r.chance, r.n_examples) for r in rows], title=f"run {run_id}")


def register(root: typer.Typer) -> None:
    """Add `pcclip finetune` and `pcclip eval` to the root app."""
    root.command("finetune")(finetune_cmd)
    root.command("eval")(eval_cmd)

