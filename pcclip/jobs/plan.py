"""From a validated spec to a DAG of jobs, each keyed by a stable hash of its inputs, and into the store.

The DAG (one ablation):
  testbed (images) -> pretrain (base model)              [testbed base model only]
  pool per LLM arm (the pairs are shared; only the writer differs)
  embed per model x dataset split (the pool split for training, each evaluation split)
  finetune per LLM x N x seed  (N > 0)
  eval per model x evaluation dataset; the base model (N = 0) is ONE model, evaluated once for all arms

A key hashes the job's kind, its own inputs and its dependencies' keys, so a changed input re-keys every job
downstream, and an unchanged job is the same row whichever experiment planned it: finished work is reused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select

from pcclip.hashing import stable_hash
from pcclip.spec import Spec
from pcclip.store.engine import Store
from pcclip.store.tables import Experiment, ExperimentJob, Job, Run

# Bump when a job kind's meaning changes, so old rows are not reused for new semantics.
PLAN_VERSION = 1


@dataclass
class PlannedJob:
    kind: str
    label: str
    params: dict[str, Any]
    deps: list[str] = field(default_factory=list)  # keys
    run: dict[str, Any] | None = None  # the `run` row this job owns (finetunes and the base model)
    key: str = ""
    # What the key hashes instead of `params`, when some params change nothing (display names, thread counts).
    key_params: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not self.key:
            hashed = self.key_params if self.key_params is not None else self.params
            self.key = stable_hash({"v": PLAN_VERSION, "kind": self.kind, "params": hashed, "deps": self.deps})


@dataclass
class Plan:
    jobs: list[PlannedJob]  # topological order

    def by_kind(self, kind: str) -> list[PlannedJob]:
        return [j for j in self.jobs if j.kind.removeprefix("selftest.") == kind]

    def __len__(self) -> int:
        return len(self.jobs)


def _dataset_ref(kind: str, options: dict[str, Any], pool_options: dict[str, Any]) -> dict[str, Any]:
    # An evaluation dataset of kind testbed with no options means "the pool's own testbed".
    if kind == "testbed" and not options:
        options = pool_options
    return {"kind": kind, "options": options}


def _llm_text_config(arm: dict[str, Any]) -> dict[str, Any]:
    from pcclip.llm.config import LlmConfig

    return LlmConfig.model_validate(arm).text_config()


def plan_spec(spec: Spec) -> Plan:
    """The jobs a spec needs, in dependency order. Pure: touches no store."""
    pre = "selftest." if spec.selftest is not None else ""
    st = spec.selftest.model_dump() if spec.selftest is not None else None
    jobs: list[PlannedJob] = []

    def add(job: PlannedJob) -> PlannedJob:
        if job.key_params is None and "base" in job.params:
            # How to rebuild the base model travels in params; its identity is in the deps (the pretrain key).
            job.key_params = {k: v for k, v in job.params.items() if k != "base"}
            job.key = ""
            job.__post_init__()
        if st is not None:
            job.params = {**job.params, "selftest": st}
            if job.key_params is not None:
                job.key_params = {**job.key_params, "selftest": st}
            job.key = ""
            job.__post_init__()
        jobs.append(job)
        return job

    ds = _dataset_ref(spec.dataset.kind, spec.dataset.options, spec.dataset.options)
    base_deps: list[str] = []
    if spec.base_model.kind == "testbed":
        tb = add(PlannedJob(pre + "testbed", "testbed images", {"options": spec.dataset.options}))
        pt = add(
            PlannedJob(
                pre + "pretrain",
                "pretrain base model",
                {"testbed": spec.dataset.options, "pretrain": spec.base_model.pretrain},
                deps=[tb.key],
                # CPU threads change speed, not the model (PretrainConfig.key_fields leaves them out too)
                key_params={"pretrain": {k: v for k, v in spec.base_model.pretrain.items() if k != "threads"}},
            )
        )
        base_ref = {"kind": "testbed", "job": pt.key}
        base_label = "testbed:" + pt.key[:8]
        base_deps = [pt.key]
        data_deps = [tb.key]
    else:
        base_ref = {"kind": "open_clip", "name": spec.base_model.name, "pretrained": spec.base_model.pretrained}
        base_label = f"{spec.base_model.name}:{spec.base_model.pretrained or 'random'}"
        data_deps = []

    base_params = {"testbed": spec.dataset.options, "pretrain": spec.base_model.pretrain} if base_deps else {}

    embeds: dict[str, PlannedJob] = {}

    def embed(dref: dict[str, Any], split: str) -> PlannedJob:
        h = stable_hash([dref, split])
        if h not in embeds:
            embeds[h] = add(
                PlannedJob(
                    pre + "embed",
                    f"embed {dref['kind']}/{split}",
                    {"model": base_ref, "base": base_params, "dataset": dref, "split": split},
                    deps=base_deps + (data_deps if dref["kind"] == "testbed" else []),
                )
            )
        return embeds[h]

    finetunes_needed = any(n > 0 for n in spec.ablation.n)
    pools: dict[str, PlannedJob] = {}
    if finetunes_needed:
        by_key: dict[str, PlannedJob] = {}
        for arm in spec.llm:
            size = arm_pool_size(spec, arm)
            pool_params = {
                "dataset": ds,
                "split": spec.dataset.split,
                "n_pairs": size,
                "max_pairs": spec.dataset.max_pairs or 4 * size,
                "seed": spec.dataset.pool_seed,
            }
            pool_job = PlannedJob(
                pre + "pool",
                f"pool {arm['name']}",
                {**pool_params, "llm": arm},
                deps=list(data_deps),
                key_params={**pool_params, "llm": _llm_text_config(arm)},  # not the arm's name or hardware settings
            )
            # Arms that differ only in what they keep of the pool (a grade filter) share its generation.
            pools[arm["name"]] = by_key.get(pool_job.key) or add(pool_job)
            by_key[pool_job.key] = pools[arm["name"]]
        pool_embed = embed(ds, spec.dataset.split)

    eval_sets = [
        _dataset_ref(d.kind, d.options, spec.dataset.options) | {"split": d.split} for d in spec.evaluation.datasets
    ]

    def evals(model_dep: str, model_ref: dict[str, Any], owner_key: str | None, run: dict | None, label: str):
        first_key = ""
        for i, ev in enumerate(eval_sets):
            dref = {"kind": ev["kind"], "options": ev["options"]}
            e = embed(dref, ev["split"])
            params = {
                "model": model_ref,
                "base": base_params,
                "dataset": dref,
                "split": ev["split"],
                "config": spec.evaluation.config,
                # Which job owns the run row: the finetune, or (base model) the first evaluation job.
                "run_owner": owner_key if owner_key else ("self" if i == 0 else first_key),
            }
            job = PlannedJob(
                pre + "eval",
                f"eval {label} on {ev['kind']}/{ev['split']}",
                params,
                deps=sorted({*([model_dep] if model_dep else []), e.key}),
                run=run if (owner_key is None and i == 0) else None,
            )
            add(job)
            if i == 0:
                first_key = job.key

    # The base model: evaluated once, shared by every LLM arm.
    if 0 in spec.ablation.n:
        base_run = {"arm": "base", "n": 0, "seed": 0, "variant": "", "base_model": base_label, "config": {}}
        evals(base_deps[0] if base_deps else "", base_ref, None, base_run, "base")

    variant = str(spec.finetune.get("label", "")) if isinstance(spec.finetune, dict) else ""
    for arm in spec.llm if finetunes_needed else []:
        for n in [n for n in spec.ablation.n if 0 < n <= arm_pool_size(spec, arm)]:
            for seed in spec.ablation.seeds:
                ft = add(
                    PlannedJob(
                        pre + "finetune",
                        f"finetune {arm['name']} N={n} seed={seed}",
                        {
                            "model": base_ref,
                            "base": base_params,
                            "dataset": ds,
                            "split": spec.dataset.split,
                            "pool": pools[arm["name"]].key,
                            "arm": arm["name"],
                            "n": n,
                            "seed": seed,
                            "config": spec.finetune,
                            # only when set, so the keys of unfiltered arms stay what they were
                            **({"grade_filter": arm["grade_filter"]} if arm.get("grade_filter") else {}),
                            **({"subset": "seeded", "window": seeded_window(spec, n)}
                               if spec.ablation.subset == "seeded" else {}),
                        },
                        deps=sorted({pools[arm["name"]].key, pool_embed.key, *base_deps}),
                        run={
                            "arm": arm["name"],
                            "n": n,
                            "seed": seed,
                            "variant": variant,
                            "base_model": base_label,
                            "config": spec.finetune,
                        },
                    )
                )
                evals(ft.key, {"kind": "finetune", "job": ft.key}, ft.key, None, f"{arm['name']} N={n} seed={seed}")
    return Plan(jobs)


def arm_pool_size(spec: Spec, arm: dict[str, Any]) -> int:
    """Comparisons an LLM arm generates: the pool size, or less when the arm sets `max_n`."""
    return min(spec.dataset.pool_size, arm.get("max_n") or spec.dataset.pool_size)


def seeded_window(spec: Spec, n: int) -> int:
    """How many comparisons (a pool-order prefix) a seeded run at N draws from: the smallest arm pool that holds N,
    so at each N every LLM arm draws from the same pairs even when some arms stop early (`max_n`)."""
    return min(size for size in (arm_pool_size(spec, a) for a in spec.llm) if size >= n)


def materialize(store: Store, spec: Spec, spec_text: str, plan: Plan, *, reset: bool = True) -> int:
    """Write the experiment, its jobs (new keys only) and run rows; returns the experiment id.

    `reset` puts this experiment's failed and cancelled jobs back to pending (re-running a spec retries them).
    """
    # Identity = the name and the set of job keys: the same jobs give the same results, whatever the TOML's
    # comments, executor settings or fields whose defaults a newer pcclip fills in without changing any job.
    spec_hash = stable_hash([spec.name, sorted(p.key for p in plan.jobs)])
    with store.session() as s:
        exp = s.exec(select(Experiment).where(Experiment.spec_hash == spec_hash)).first()
        if exp is None:
            exp = Experiment(name=spec.name, spec_text=spec_text, spec_hash=spec_hash)
            s.add(exp)
            s.flush()
        elif exp.spec_text != spec_text:
            exp.spec_text = spec_text  # same results, other executor settings or comments
            s.add(exp)
        existing = {j.key: j for j in s.exec(select(Job).where(Job.key.in_([p.key for p in plan.jobs]))).all()}
        linked = {r.job_id for r in s.exec(select(ExperimentJob).where(ExperimentJob.experiment_id == exp.id)).all()}
        for p in plan.jobs:
            job = existing.get(p.key)
            if job is None:
                job = Job(
                    key=p.key,
                    kind=p.kind,
                    label=p.label,
                    params_json=json.dumps(p.params, sort_keys=True),
                    deps_json=json.dumps(p.deps),
                )
                s.add(job)
                s.flush()
                existing[p.key] = job
            elif reset and job.status in ("failed", "cancelled"):
                job.status = "pending"
                job.attempt = 0
                job.error = None
                job.message = ""
                s.add(job)
            if job.id not in linked:
                s.add(ExperimentJob(experiment_id=exp.id, job_id=job.id))
                linked.add(job.id)
            if p.run is not None and s.exec(select(Run.id).where(Run.job_id == job.id)).first() is None:
                r = p.run
                s.add(
                    Run(
                        job_id=job.id,
                        arm=r["arm"],
                        n=r["n"],
                        seed=r["seed"],
                        variant=r["variant"],
                        base_model=r["base_model"],
                        config_json=json.dumps(r["config"], sort_keys=True),
                    )
                )
        return int(exp.id)
