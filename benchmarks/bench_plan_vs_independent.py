"""Planned ablation vs. every arm run independently from scratch, on one small real spec, in the same run.

Planned: `pcclip run` of the whole spec: one comparison pool per LLM (shared by every N and seed), image
embeddings once per split, the base model evaluated once for every LLM line.
Independent (baseline): each arm (LLM x N x seed) is its own `pcclip run` on a fresh database: it generates its
own N comparisons, embeds the images, finetunes, and evaluates both its model and the base model it is compared to.
Both share the per-machine cache (testbed images, pretrained base model), warmed before timing, so the comparison
is about the ablation's own work. Prints both wall times, the jobs each executed, and the ratio.

    .venv/bin/python benchmarks/bench_plan_vs_independent.py [--llms oracle,smollm2-135m] [--jobs 1]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import tomli_w

LLMS = {
    "oracle": {"backend": "template"},
    "smollm2-135m": {"backend": "llama_cpp", "model": "smollm2-135m"},
    "gemma3-270m": {"backend": "llama_cpp", "model": "gemma3-270m"},
}


def small_spec(name: str, llms: list[str], n: list[int], seeds: list[int], pool_size: int, jobs: int) -> dict[str, Any]:
    return {
        "name": name,
        "dataset": {"pool_size": pool_size, "options": {"n_train": 400, "n_pool": 80, "n_test": 80}},
        "base_model": {"pretrain": {"steps": 30, "batch_size": 32, "threads": 1}},
        "llm": [{"name": x, **LLMS[x]} for x in llms],
        "ablation": {"n": n, "seeds": seeds},
        "finetune": {"profile": "testbed", "epochs": 3, "batch_size": 16},
        "evaluation": {"config": {"n_pairs": 60, "seeds": [0, 1], "comparative": False, "geometry": False}},
        "executor": {"jobs": jobs},
    }


def run(db: Path, spec: dict[str, Any], env: dict[str, str]) -> tuple[float, int]:
    path = db.with_suffix(".toml")
    path.write_text(tomli_w.dumps(spec))
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "pcclip", "--db", str(db), "run", str(path), "--no-plots"],
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
    )
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{db.name}: pcclip run failed\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    conn = sqlite3.connect(db)
    executed = conn.execute("SELECT COUNT(*) FROM job WHERE status = 'done'").fetchone()[0]
    conn.close()
    return wall, executed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llms", default="oracle,smollm2-135m")
    ap.add_argument("--n", default="0,10,20")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--jobs", type=int, default=1, help="jobs at once, for both sides")
    args = ap.parse_args()
    llms = args.llms.split(",")
    ns = [int(x) for x in args.n.split(",")]
    seeds = [int(x) for x in args.seeds.split(",")]
    pool = max(ns)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        env = dict(os.environ, PCCLIP_CACHE=os.environ.get("PCCLIP_CACHE", str(tmp / "cache")), HF_HUB_OFFLINE="1")
        # Warm the per-machine cache (testbed images + pretrained base) that both sides share.
        run(tmp / "warm.db", small_spec("warm", [], [0], [0], pool, args.jobs), env)

        planned_wall, planned_jobs = run(
            tmp / "planned.db", small_spec("planned", llms, ns, seeds, pool, args.jobs), env
        )
        print(f"planned: {planned_wall:.1f} s, {planned_jobs} jobs", flush=True)

        indep_wall = 0.0
        indep_jobs = 0
        arms = [(llm, n, s) for llm in llms for n in ns if n > 0 for s in seeds]
        for i, (llm, n, s) in enumerate(arms):
            spec = small_spec(f"arm{i}", [llm], [0, n], [s], n, args.jobs)
            w, j = run(tmp / f"arm{i}.db", spec, env)
            indep_wall += w
            indep_jobs += j
            print(f"  independent arm {llm} N={n} seed={s}: {w:.1f} s, {j} jobs", flush=True)
    print(f"planned run:        {planned_wall:8.1f} s  ({planned_jobs} jobs)")
    print(f"independent arms:   {indep_wall:8.1f} s  ({indep_jobs} jobs over {len(arms)} arms)")
    print(
        f"ratio (independent / planned): {indep_wall / planned_wall:.2f}x wall, {indep_jobs / planned_jobs:.2f}x jobs"
    )


if __name__ == "__main__":
    main()
