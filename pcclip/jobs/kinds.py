"""Job kinds: thin wrappers that turn a job row's params into a call of a pipeline step function.

Every kind is idempotent for the same params (the step functions reuse their caches and replace their rows),
which is what makes a retried or resumed job safe. Heavy libraries are imported inside the functions: the
worker process pays for torch only when a job needs it.

The `selftest.*` kinds are the runner's health check (`pcclip run selftest`): the ablation's DAG with no
models, where each job sleeps through `steps` resumable steps and writes metric and result rows, so workers,
heartbeats, cancel, retry, resume and concurrent writes can be checked on any machine in seconds.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import select

from pcclip.errors import PcclipError
from pcclip.hashing import stable_hash
from pcclip.progress import Progress
from pcclip.store.engine import Store
from pcclip.store.tables import Artifact, Job, Run


@dataclass
class JobContext:
    store: Store
    job: Job
    params: dict[str, Any]
    progress: Progress
    device: str
    workdir: Path  # per-database work folder
    cancelled: threading.Event

    def job_dir(self) -> Path:
        d = self.workdir / "jobs" / self.job.key
        d.mkdir(parents=True, exist_ok=True)
        return d


# ----------------------------------------------------------------------------------------------- shared helpers


def run_of(store: Store, owner_key: str, self_job: Job) -> Run:
    """The run row a job works on: the one owned by `owner_key` ("self" = this job)."""
    with store.session() as s:
        owner = self_job if owner_key == "self" else s.exec(select(Job).where(Job.key == owner_key)).first()
        if owner is None:
            raise PcclipError(
                f"job {self_job.id}: its run's owner job {owner_key} is missing; re-plan with `pcclip run`"
            )
        run = s.exec(select(Run).where(Run.job_id == owner.id)).first()
    if run is None:
        raise PcclipError(f"job {self_job.id}: no run row for job {owner.id}; re-plan with `pcclip run`")
    return run


def open_data(ref: dict[str, Any], progress: Progress | None = None) -> Any:
    """A Dataset from a plan's dataset reference ({kind, options}), through the dataset registry."""
    from pcclip.data.registry import open_dataset
    from pcclip.progress import no_progress

    return open_dataset(ref["kind"], progress=progress or no_progress, **ref["options"])


def base_model_ref(ctx: JobContext, ref: dict[str, Any], base: dict[str, Any]) -> Any:
    """The base model's ModelRef: the testbed's pretrained model (cached; built by the pretrain job) or an
    open_clip architecture with its pretrained tag."""
    from pcclip.models import ModelRef

    if ref["kind"] == "testbed":
        from pcclip.data.testbed import TestbedConfig, build_testbed
        from pcclip.pretrain import PretrainConfig, pretrain_base

        tb = build_testbed(TestbedConfig.model_validate(base["testbed"]))
        path = pretrain_base(
            PretrainConfig.model_validate(base["pretrain"]), tb, store=ctx.store, progress=ctx.progress
        )
        return ModelRef.testbed(path)
    return ModelRef(name=ref["name"], pretrained=ref.get("pretrained"))


def model_ref(ctx: JobContext, ref: dict[str, Any], base: dict[str, Any]) -> Any:
    """ModelRef of a plan's model reference: the base model, or a finetune's checkpoint on top of it."""
    if ref["kind"] != "finetune":
        return base_model_ref(ctx, ref, base)
    with ctx.store.session() as s:
        ft = s.exec(select(Job).where(Job.key == ref["job"])).first()
        run = s.exec(select(Run).where(Run.job_id == ft.id)).first() if ft else None
        art = s.get(Artifact, run.checkpoint_artifact_id) if run and run.checkpoint_artifact_id else None
    if art is None:
        raise PcclipError(f"finetune job {ref['job']} has no checkpoint recorded; retry it with `pcclip run`")
    params = json.loads(ft.params_json)
    base_ref = base_model_ref(ctx, params["model"], params["base"])
    return base_ref.with_checkpoint(art.path)


# ----------------------------------------------------------------------------------------------- pipeline kinds


def k_testbed(ctx: JobContext) -> None:
    from pcclip.data.testbed import register_dataset

    ds = open_data({"kind": "testbed", "options": ctx.params["options"]}, ctx.progress)
    register_dataset(ctx.store, ds)


def k_pretrain(ctx: JobContext) -> None:
    from pcclip.store.artifacts import register_artifact

    ref = base_model_ref(ctx, {"kind": "testbed"}, ctx.params)
    path = getattr(ref, "checkpoint", None) or getattr(ref, "path", None)
    if path and Path(path).is_file():
        register_artifact(ctx.store, path, "base_model", job_id=ctx.job.id)


def _llm(params: dict[str, Any]) -> Any:
    from pcclip.llm.config import LlmConfig

    return LlmConfig.model_validate(params)


def _with_cpu_share(cfg: Any) -> Any:
    """A llama.cpp arm on CPU with no thread count of its own gets the worker's share of the cores
    (`PCCLIP_CPU_THREADS`, set by the local executor). Thread counts never enter the pool key."""
    share = os.environ.get("PCCLIP_CPU_THREADS")
    if cfg.backend != "llama_cpp" or cfg.n_threads is not None or cfg.n_gpu_layers != 0 or not share:
        return cfg
    return cfg.model_copy(update={"n_threads": int(share)})


def k_pool(ctx: JobContext) -> None:
    from pcclip.llm.generate import generate_pool

    p = ctx.params
    ds = open_data(p["dataset"], ctx.progress)
    pool_id = generate_pool(
        ctx.store,
        ds,
        p["split"],
        _with_cpu_share(_llm(p["llm"])),
        p["n_pairs"],
        seed=p["seed"],
        progress=ctx.progress,
        # N arms need N accepted comparisons, not N pairs: extend the pair order (up to max_pairs) until then.
        min_accepted=p["n_pairs"],
        max_pairs_cap=p.get("max_pairs"),
    )
    if getattr(ds, "kind", "") == "testbed":
        # The testbed's records make every comparison gradable (1-2 ms each): grade as part of the pool, so the
        # quality of every LLM arm sits next to its accuracy lift without a separate step.
        from pcclip.llm.grade_pool import grade_pool

        ctx.progress(0.99, 1.0, "grading comparisons")
        grade_pool(ctx.store, pool_id, ds)


def find_pool(store: Store, ds: Any, split: str, cfg: Any, seed: int) -> int:
    """The id of a generated pool (by the same key generation uses), without loading the LLM."""
    from pcclip.llm.generate import model_identity
    from pcclip.llm.pool import pool_key
    from pcclip.store.tables import Pool

    _model_id, sha = model_identity(cfg)
    key = pool_key(ds.fingerprint, split, cfg, sha, seed)
    with store.session() as s:
        pool = s.exec(select(Pool).where(Pool.key == key)).first()
    if pool is None:
        raise PcclipError(f"comparison pool for {cfg.name} not found; its pool job must finish first (pcclip run)")
    return int(pool.id)


def k_embed(ctx: JobContext) -> None:
    from pcclip.embed import image_embeddings

    p = ctx.params
    ref = model_ref(ctx, p["model"], p["base"])
    ds = open_data(p["dataset"], ctx.progress)
    image_embeddings(ctx.store, ref, ds, p["split"], device=ctx.device, progress=ctx.progress, job_id=ctx.job.id)


def seeded_order(idx: list[int], seed: int) -> list[int]:
    """Positions of `idx` (pool pair indices) sorted by a per-(seed, pair) random key: the same pair gets the same
    key in every LLM's pool, so the arms of one seed see the same pairs wherever their filters accepted them."""
    import hashlib

    def key(i: int) -> bytes:
        return hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=8).digest()

    return sorted(range(len(idx)), key=lambda k: key(idx[k]))


def select_comparisons(store: Store, pool_id: int, n: int, grade_filter: str | None = None,
                       order_seed: int | None = None, window: int | None = None) -> list[tuple]:
    """(item_i, item_j, text) of n accepted comparisons, optionally only those whose grade passes `grade_filter`.

    `order_seed` None: the first n in pool order (every seed trains on the same comparisons). An int: the first n
    in that seed's shuffled pair order (`seeded_order`) among the first `window` candidates in pool order (default:
    all), so seeds see different comparisons. Within one window a smaller N is a prefix of a larger one for the
    same seed (nested N arms).
    """
    from pcclip.llm.pool import accepted_comparisons
    from pcclip.store.tables import Comparison

    if window is not None and window < n:
        raise PcclipError(f"window {window} is smaller than N = {n}")
    # candidates in pool order: n of them for a prefix, the window (default all) for a seeded draw
    limit = n if order_seed is None else (window or -1)
    if not grade_filter:
        rows = accepted_comparisons(store, pool_id, limit, strict=False)
        if len(rows) < n:
            accepted_comparisons(store, pool_id, n)  # raises the usual "has k accepted, n asked" error
    else:
        from pcclip.llm.grade_pool import filter_by_grade

        ids = filter_by_grade(store, pool_id, grade_filter)
        if len(ids) < n:
            raise PcclipError(
                f"pool {pool_id}: only {len(ids)} accepted comparisons pass grade filter {grade_filter!r}, N={n} "
                "needs more; lower N, loosen the rule, or raise dataset.pool_size"
            )
        ids = ids if limit == -1 else ids[:limit]
        with store.session() as s:
            by_id = {c.id: c for c in s.exec(select(Comparison).where(Comparison.id.in_(ids)))}  # type: ignore[union-attr]
        rows = [by_id[i] for i in ids]
    if order_seed is not None:
        rows = [rows[k] for k in seeded_order([c.idx for c in rows], order_seed)]
    return [(c.item_i, c.item_j, c.text) for c in rows[:n]]


def k_finetune(ctx: JobContext) -> None:
    from pcclip.train import FinetuneConfig

    p = ctx.params
    with ctx.store.session() as s:
        pool_job = s.exec(select(Job).where(Job.key == p["pool"])).first()
    pool_params = json.loads(pool_job.params_json)
    cfg_llm = _llm(pool_params["llm"])
    ds = open_data(p["dataset"], ctx.progress)
    pool_id = find_pool(ctx.store, ds, pool_params["split"], cfg_llm, pool_params["seed"])
    order_seed = p["seed"] if p.get("subset") == "seeded" else None
    comps = select_comparisons(ctx.store, pool_id, p["n"], p.get("grade_filter"), order_seed, p.get("window"))
    run = run_of(ctx.store, "self", ctx.job)
    with ctx.store.session() as s:
        from pcclip.store.tables import Pool

        pool = s.get(Pool, pool_id)
        row = s.get(Run, run.id)
        row.pool_id, row.llm_id = pool_id, pool.llm_id
        s.add(row)
    cfg = FinetuneConfig.model_validate({**p["config"], "seed": p["seed"]})
    ref = base_model_ref(ctx, p["model"], p["base"])
    from pcclip.train import finetune

    finetune(
        ctx.store,
        ref,
        ds,
        comps,
        cfg,
        run.id,
        ctx.job_dir(),
        device=ctx.device,
        progress=ctx.progress,
        resume=True,
        split=p["split"],
        job_id=ctx.job.id,
    )


def k_eval(ctx: JobContext) -> None:
    from pcclip.evaluate import EvalConfig, evaluate_run

    p = ctx.params
    run = run_of(ctx.store, p["run_owner"], ctx.job)
    ref = model_ref(ctx, p["model"], p["base"])
    image_ref = None
    if p["model"]["kind"] == "finetune":
        with ctx.store.session() as s:
            ft = s.exec(select(Job).where(Job.key == p["model"]["job"])).first()
        ftp = json.loads(ft.params_json)
        if ftp["config"].get("train_params") != "both":  # text-only finetune: reuse the base image embeddings
            image_ref = base_model_ref(ctx, ftp["model"], ftp["base"])
    ds = open_data(p["dataset"], ctx.progress)
    evaluate_run(
        ctx.store,
        run.id,
        ref,
        ds,
        EvalConfig.model_validate(p["config"]),
        device=ctx.device,
        progress=ctx.progress,
        image_model=image_ref,
        job_id=ctx.job.id,
    )


# ----------------------------------------------------------------------------------------------- health check


def k_selftest(ctx: JobContext) -> None:
    """Sleep through resumable steps; finetune-like jobs write metrics, eval-like jobs write results.

    Values are a pure function of the job's key and step, so an interrupted and resumed run writes exactly the
    rows an uninterrupted one does.
    """
    import time

    from sqlmodel import delete

    from pcclip.store.tables import Metric, Result

    st = ctx.params["selftest"]
    kind = ctx.job.kind.removeprefix("selftest.")
    steps, pause, per_step = st["steps"], st["step_seconds"], st["metrics_per_step"]
    ckpt = ctx.job_dir() / "selftest-step.json"
    start = json.loads(ckpt.read_text())["step"] if ckpt.exists() else 0
    run = run_of(ctx.store, "self", ctx.job) if kind == "finetune" else None
    if run is not None:
        with ctx.store.session() as s:  # a resumed job replays from its checkpoint: drop later rows
            s.exec(delete(Metric).where(Metric.run_id == run.id, Metric.step >= start))
    for step in range(start, steps):
        time.sleep(pause)
        if run is not None:
            with ctx.store.session() as s:
                for m in range(per_step):
                    v = int(stable_hash([ctx.job.key, step, m], 8), 16) / 16**8
                    s.add(Metric(run_id=run.id, step=step, name=f"m{m}", value=v))
        ckpt.write_text(json.dumps({"step": step + 1}))
        ctx.progress(step + 1, steps, f"step {step + 1}/{steps}")
    if kind == "eval":
        run = run_of(ctx.store, ctx.params["run_owner"], ctx.job)
        base = 0.5 + 0.3 * min(1.0, run.n / 1000)
        with ctx.store.session() as s:
            s.exec(delete(Result).where(Result.run_id == run.id))
            for task in ("diff/mean", "zeroshot/selftest"):
                for seed in range(3):
                    noise = (int(stable_hash([ctx.job.key, task, seed], 8), 16) / 16**8 - 0.5) * 0.05
                    s.add(
                        Result(
                            run_id=run.id,
                            job_id=ctx.job.id,
                            task=task,
                            seed=seed,
                            metric="accuracy",
                            value=base + noise,
                            chance=0.5 if task.startswith("diff") else 0.1,
                            n_examples=100,
                        )
                    )


KINDS: dict[str, Callable[[JobContext], None]] = {
    "testbed": k_testbed,
    "pretrain": k_pretrain,
    "pool": k_pool,
    "embed": k_embed,
    "finetune": k_finetune,
    "eval": k_eval,
    **{f"selftest.{k}": k_selftest for k in ("testbed", "pretrain", "pool", "embed", "finetune", "eval")},
}

#: kinds that benefit from an accelerator (placed on a GPU when the machine has one)
GPU_KINDS = {"pretrain", "embed", "finetune", "eval", "pool"}


def run_kind(ctx: JobContext) -> None:
    fn = KINDS.get(ctx.job.kind)
    if fn is None:
        raise PcclipError(f"job {ctx.job.id}: unknown kind {ctx.job.kind!r} (written by a newer pcclip?)")
    fn(ctx)
