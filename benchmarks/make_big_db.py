"""Make a large pcclip database for the TUI benchmarks: 10,000 runs and 1,000,000 metric rows.

    .venv/bin/python benchmarks/make_big_db.py /tmp/big.db [--runs 10000] [--metrics-per-run 100]

The schema comes from `pcclip.store.open_store` (the real tables, indexes and views); the rows are bulk-inserted
with executemany in one transaction, since a million ORM inserts would take minutes. Shapes mirror a real
ablation: 5 experiments x (LLM arm x N x variant x seed), each run with a finetune and an evaluation job,
4 tasks x 3 evaluation seeds of results, a checkpoint artifact, and comparison pools of 20,000 rows per LLM.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pcclip.store import open_store

LLMS = ["oracle", "smollm2-135m", "gemma3-270m", "llama2-13b", "gpt-4"]
NS = [10, 30, 100, 300, 1000, 3000, 10000, 30000]
VARIANTS = ["lr1e-3", "lr3e-4", "rehearsal", "avg0.5", "lr1e-4"]
TASKS = {"diff/size": 0.5, "diff/color": 0.5, "diff/mean": 0.5, "zeroshot/testbed": 1 / 24}
STATUSES = ["done"] * 90 + ["running"] * 2 + ["pending"] * 3 + ["queued"] * 2 + ["failed", "cancelled", "failed"]


def ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


def make(path: Path, runs: int, metrics_per_run: int, comparisons_per_pool: int) -> None:
    if path.exists():
        raise SystemExit(f"{path} exists; remove it first")
    open_store(path).close()  # schema, indexes, views
    rng = random.Random(0)
    t0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO dataset (id, name, kind, root, config_json, config_hash, n_items, created_at)"
                 " VALUES (1, 'testbed-big', 'testbed', '/nonexistent', '{}', 'ds1', 14000, ?)", (ts(t0),))
    for i, name in enumerate(LLMS, 1):
        conn.execute("INSERT INTO llm (id, name, backend, model_id, file_sha256, params_json, key, created_at)"
                     " VALUES (?, ?, 'llama_cpp', ?, ?, '{}', ?, ?)",
                     (i, name, f"{name}.gguf", "ab" * 32, name, ts(t0)))
        conn.execute("INSERT INTO pool (id, key, dataset_id, llm_id, split, prompt_id, seed, n_target, created_at)"
                     " VALUES (?, ?, 1, ?, 'pool', 'describe-diff-v1', 0, ?, ?)",
                     (i, f"pool{i}", i, comparisons_per_pool, ts(t0)))
        conn.executemany(
            "INSERT INTO comparison (pool_id, idx, item_i, item_j, caption_i, caption_j, prompt_id, raw_text, text,"
            " accepted, reject_reason, tokens, seconds, created_at) VALUES (?, ?, ?, ?, ?, ?, 'describe-diff-v1',"
            " ?, ?, ?, ?, 24, 0.3, ?)",
            ((i, k, k % 2000, (k * 7 + 1) % 2000, f"a photo of {k % 3 + 1} red circles", "a photo of a blue star",
              f"The first image has more red circles than the second ({k}).",
              "" if k % 5 == 0 else f"The first image has more red circles than the second ({k}).",
              int(k % 5 != 0), "no comparative" if k % 5 == 0 else None, ts(t0)) for k in range(comparisons_per_pool)),
        )
    n_exp = 5
    per_exp = runs // n_exp
    job_id = run_id = 0
    for e in range(1, n_exp + 1):
        conn.execute("INSERT INTO experiment (id, name, spec_text, spec_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                     (e, f"ablation-{e}", "[ablation]\nn = [10, 100]\n", f"hash{e}", ts(t0 + timedelta(days=e))))
        jobs, links, run_rows, results, arts = [], [], [], [], []
        arms = [(llm, n, v, s) for llm in LLMS for n in NS for v in VARIANTS for s in range(10)]
        for llm, n, variant, seed in arms[:per_exp]:
            start = t0 + timedelta(days=e, minutes=job_id)
            for kind in ("finetune", "eval"):
                job_id += 1
                status = rng.choice(STATUSES) if kind == "finetune" else "done"
                jobs.append((job_id, f"job{job_id}", kind, f"{llm} N={n} {variant} seed={seed}", status,
                             1.0 if status == "done" else rng.random(), f"{kind} step", 1, ts(start),
                             ts(start + timedelta(minutes=3)) if status in ("done", "failed", "cancelled") else None,
                             f"/nonexistent/logs/{job_id}.log", ts(start)))
                links.append((e, job_id))
            run_id += 1
            run_rows.append((run_id, job_id - 1, llm, LLMS.index(llm) + 1, LLMS.index(llm) + 1, n, seed, variant,
                             "testbed-vit", json.dumps({"lr": 1e-3}), run_id, ts(start)))
            arts.append((run_id, f"/nonexistent/ckpt/{run_id}.pt", f"{run_id:064x}", 1 << 20, "checkpoint",
                         job_id - 1, ts(start)))
            for task, chance in TASKS.items():
                for es in range(3):
                    results.append((run_id, job_id, task, es, "accuracy", rng.uniform(0.4, 0.9), chance, 200,
                                    ts(start)))
        conn.executemany(
            "INSERT INTO job (id, key, kind, label, params_json, deps_json, status, progress, message, attempt,"
            " started_at, ended_at, log_path, created_at) VALUES (?, ?, ?, ?, '{}', '[]', ?, ?, ?, ?, ?, ?, ?, ?)",
            jobs)
        conn.executemany("INSERT INTO experiment_job (experiment_id, job_id) VALUES (?, ?)", links)
        conn.executemany("INSERT INTO artifact (id, path, sha256, bytes, kind, job_id, created_at)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?)", arts)
        conn.executemany(
            "INSERT INTO run (id, job_id, arm, llm_id, pool_id, n, seed, variant, base_model, config_json,"
            " checkpoint_artifact_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", run_rows)
        conn.executemany(
            "INSERT INTO result (run_id, job_id, task, seed, metric, value, chance, n_examples, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", results)
    conn.executemany(
        "INSERT INTO metric (run_id, step, name, value) VALUES (?, ?, 'loss', ?)",
        ((r, s, 3.0 * 0.97**s) for r in range(1, run_id + 1) for s in range(metrics_per_run)),
    )
    conn.execute("COMMIT")
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--metrics-per-run", type=int, default=100)
    ap.add_argument("--comparisons-per-pool", type=int, default=20_000)
    args = ap.parse_args()
    t = time.perf_counter()
    make(args.path, args.runs, args.metrics_per_run, args.comparisons_per_pool)
    conn = sqlite3.connect(args.path)
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("experiment", "job", "run", "metric", "result", "comparison", "artifact")}
    print(f"made {args.path} in {time.perf_counter() - t:.1f} s: {counts}")


if __name__ == "__main__":
    main()
