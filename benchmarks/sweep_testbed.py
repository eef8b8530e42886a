"""The testbed sweep behind the `testbed` finetune profile: difference accuracy vs zero-shot accuracy.

Builds (or reuses from the caches) the testbed, its pretrained base model and an oracle comparison pool, then for
each chosen setting ("variant") and training seed: finetunes, evaluates, and stores the run under its variant label
in the given database. Prints the trade-off table (mean and standard error over training seeds; each run first
averaged over the 5 pair-sampling seeds) against the base model. Re-running skips finished runs.

    .venv/bin/python benchmarks/sweep_testbed.py --db sweep.db --n 1000 --seeds 0 1 2 3 4 \
        --variants rehearsal-lr1e-3 plain-lr3e-4
    .venv/bin/python benchmarks/sweep_testbed.py --db sweep.db --table      # just print the table
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Each variant: FinetuneConfig overrides on top of the `testbed` profile.
VARIANTS: dict[str, dict[str, Any]] = {
    "plain-lr3e-4": dict(rehearsal_weight=0.0, lr=3e-4),
    "plain-lr1e-3": dict(rehearsal_weight=0.0, lr=1e-3),
    "plain-lr1e-3-avg0.5": dict(rehearsal_weight=0.0, lr=1e-3, weight_average_alpha=0.5),
    "rehearsal-lr1e-3": dict(rehearsal_weight=1.0, lr=1e-3),
    "rehearsal-lr3e-3": dict(rehearsal_weight=1.0, lr=3e-3),
    "rehearsal2-lr1e-3": dict(rehearsal_weight=2.0, lr=1e-3),
    "rehearsal-lr1e-3-avg0.7": dict(rehearsal_weight=1.0, lr=1e-3, weight_average_alpha=0.7),
}


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--n", type=int, nargs="+", default=[1000], help="comparisons per run (N)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="training seeds")
    ap.add_argument("--variants", nargs="*", default=[], help=f"from: {', '.join(VARIANTS)}")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=JSON",
                    help='an extra variant, e.g. r1-e10=\'{"rehearsal_weight":1,"epochs":10}\'')
    ap.add_argument("--llm", default="oracle", choices=["oracle", "smollm2"], help="who writes the comparisons")
    ap.add_argument("--pool-size", type=int, default=None, help="accepted comparisons to generate (default max N)")
    ap.add_argument("--testbed", default="{}", help="TestbedConfig overrides as JSON (default: the testbed spec's)")
    ap.add_argument("--pretrain", default="{}", help="PretrainConfig overrides as JSON (default: its defaults)")
    ap.add_argument("--base-checkpoint", default=None, help="use this testbed base model instead of pretraining")
    ap.add_argument("--eval-pairs", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--table", action="store_true", help="only print the table")
    return ap.parse_args()


# The default spec's testbed (data/specs/testbed.toml), so the cached base model is shared with `pcclip run`.
TESTBED = dict(seed=0)


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def main() -> None:
    a = _args()
    import torch
    from sqlmodel import select

    from pcclip.store import open_store
    from pcclip.store.tables import Result, Run

    torch.set_num_threads(a.threads)
    store = open_store(a.db)
    variants = {v: VARIANTS[v] for v in a.variants}
    for item in a.set:
        name, _, js = item.partition("=")
        variants[name] = json.loads(js)
    if not a.table:
        _sweep(store, a, variants)
    with store.session() as s:
        runs = s.exec(select(Run)).all()
        results = s.exec(select(Result)).all()
    _table(runs, results)


def _sweep(store: Any, a: argparse.Namespace, variants: dict[str, dict[str, Any]]) -> None:
    from sqlmodel import select

    from pcclip.data.testbed import build_testbed, register_dataset, testbed_config
    from pcclip.evaluate import EvalConfig, evaluate_run
    from pcclip.llm.config import LlmConfig
    from pcclip.llm.generate import generate_pool
    from pcclip.llm.pool import accepted_comparisons
    from pcclip.models import ModelRef
    from pcclip.paths import workdir
    from pcclip.pretrain import PretrainConfig, pretrain_base
    from pcclip.store.tables import Result, Run
    from pcclip.train import FinetuneConfig, finetune

    tb = build_testbed(testbed_config(**{**TESTBED, **json.loads(a.testbed)}))
    register_dataset(store, tb)
    _say(f"testbed {tb.name}; pretraining/reusing the base model")
    if a.base_checkpoint:
        base_path = Path(a.base_checkpoint)
    else:
        base_path = pretrain_base(PretrainConfig(**json.loads(a.pretrain)), tb, store=store, progress=_every(50))
    base = ModelRef.testbed(base_path)
    ecfg = EvalConfig(n_pairs=a.eval_pairs, ensemble=False, comparative=False, geometry=False)

    def evaluated(run_id: int) -> bool:
        with store.session() as s:
            return s.exec(select(Result).where(Result.run_id == run_id, Result.task == "diff/mean")).first() is not None

    def run_row(arm: str, n: int, seed: int, variant: str, cfg: dict[str, Any]) -> int:
        with store.session() as s:
            row = s.exec(select(Run).where(Run.arm == arm, Run.n == n, Run.seed == seed, Run.variant == variant)
                         ).first()
            if row is None:
                row = Run(arm=arm, n=n, seed=seed, variant=variant, base_model=str(base_path),
                          config_json=json.dumps(cfg))
                s.add(row)
                s.flush()
            return int(row.id)

    base_run = run_row("base", 0, 0, "", {})
    if not evaluated(base_run):
        t = time.perf_counter()
        evaluate_run(store, base_run, base, tb, ecfg)
        _say(f"base evaluated in {time.perf_counter() - t:.0f}s")
    if not variants:
        return
    if a.llm == "oracle":
        llm = LlmConfig(name="oracle", backend="template")
    else:
        llm = LlmConfig(name="smollm2-135m", backend="llama_cpp", model="smollm2-135m", n_parallel=4)
    size = a.pool_size or max(a.n)
    t = time.perf_counter()
    pool_id = generate_pool(store, tb, "pool", llm, n_pairs=size, seed=0, min_accepted=size)
    _say(f"pool {pool_id} ({llm.name}) ready in {time.perf_counter() - t:.0f}s")
    for n in a.n:
        comps = [(c.item_i, c.item_j, c.text) for c in accepted_comparisons(store, pool_id, n)]
        for name, over in variants.items():
            for seed in a.seeds:
                cfg = FinetuneConfig.profile("testbed", **{**over, "seed": seed})
                rid = run_row(llm.name, n, seed, name, cfg.model_dump())
                if evaluated(rid):
                    continue
                t = time.perf_counter()
                out = workdir(store.path) / "sweep" / f"run-{rid}"
                ckpt = finetune(store, base, tb, comps, cfg, rid, out)
                t_ft = time.perf_counter() - t
                evaluate_run(store, rid, base.with_checkpoint(ckpt), tb, ecfg, image_model=base)
                _say(f"{llm.name} N={n} {name} seed={seed}: finetune {t_ft:.0f}s, total {time.perf_counter() - t:.0f}s")
                _table_for(store, rid)


def _every(k: int) -> Any:
    """A Progress that prints every k-th update."""
    count = [0]

    def report(done: float, total: float | None = None, message: str = "") -> None:
        count[0] += 1
        if count[0] % k == 0:
            _say(f"{done}/{total} {message}")

    return report


def _table_for(store: Any, run_id: int) -> None:
    from sqlmodel import select

    from pcclip.store.tables import Result

    with store.session() as s:
        rows = s.exec(select(Result).where(Result.run_id == run_id)).all()
    diff = [r.value for r in rows if r.task == "diff/mean"]
    zs = [r.value for r in rows if r.task.startswith("zeroshot/")]
    print(f"    diff/mean {100 * sum(diff) / len(diff):.1f}  zeroshot {100 * zs[0]:.1f}", flush=True)


def _mean_se(xs: list[float]) -> tuple[float, float]:
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, float("nan")
    return m, math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1) / len(xs))


def _table(runs: list[Any], results: list[Any]) -> None:
    per_run: dict[int, dict[str, list[float]]] = {}
    for r in results:
        key = "diff" if r.task == "diff/mean" else "zs" if r.task.startswith("zeroshot/") else None
        if key:
            per_run.setdefault(r.run_id, {}).setdefault(key, []).append(r.value)
    groups: dict[tuple[str, int, str], list[tuple[float, float]]] = {}
    single: dict[tuple[str, int, str], list[float]] = {}  # a lone run's per-pair-seed values, for its error
    for run in runs:
        m = per_run.get(run.id)
        if not m or "diff" not in m or "zs" not in m:
            continue
        groups.setdefault((run.arm, run.n, run.variant), []).append(
            (sum(m["diff"]) / len(m["diff"]), sum(m["zs"]) / len(m["zs"])))
        single[(run.arm, run.n, run.variant)] = m["diff"]
    base = groups.get(("base", 0, ""))
    b_diff = _mean_se([v[0] for v in base])[0] if base else None
    b_zs = _mean_se([v[1] for v in base])[0] if base else None
    from pcclip.plots import figure_tradeoff

    # one point per (N, variant) group: the forgetting trade-off across settings
    pts = [(f"{arm} N={n}" if arm != "base" else "base", n, _mean_se([v[1] for v in vals])[0],
            _mean_se([v[0] for v in vals])[0]) for (arm, n, _variant), vals in groups.items()]
    print(figure_tradeoff(pts, color=False, title="diff/mean vs zero-shot accuracy (one point per N x setting)"))
    print("(± = standard error over training seeds; for a single run, over its 5 pair-sampling seeds)")
    print("| llm | N | variant | runs | diff/mean acc % | zero-shot acc % | Δ diff | Δ zero-shot |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for (arm, n, variant), vals in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2])):
        dm, ds = _mean_se([v[0] for v in vals] if len(vals) > 1 else single[(arm, n, variant)])
        zm, zse = _mean_se([v[1] for v in vals])
        dd = f"{100 * (dm - b_diff):+.1f}" if b_diff is not None else ""
        dz = f"{100 * (zm - b_zs):+.1f}" if b_zs is not None else ""
        print(f"| {arm} | {n} | {variant or '-'} | {len(vals)} | {100 * dm:.1f} ± {100 * ds:.1f} | "
              f"{100 * zm:.1f} ± {100 * zse:.1f} | {dd} | {dz} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
