"""finetune() through the store: metrics, checkpoint artifact, determinism, resume after a real kill; and
evaluate_run's zero-shot rows on a tiny model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from science_helpers import new_run, tiny_ref, tiny_testbed, toy_comparisons
from sqlmodel import select

from pcclip.evaluate import EvalConfig, evaluate_run
from pcclip.models import load_model
from pcclip.store import open_store
from pcclip.store.tables import Artifact, Metric, Result, Run
from pcclip.train import FinetuneConfig, finetune

TESTS = Path(__file__).parent

CHILD = """
import sys, time, torch
torch.set_num_threads(1)
from pathlib import Path
from science_helpers import tiny_ref, tiny_testbed, toy_comparisons
from pcclip.store import open_store
from pcclip.train import FinetuneConfig, finetune
db, out, run_id, delay = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
store = open_store(db)
ds = tiny_testbed()
cfg = FinetuneConfig(lr=3e-3, epochs=4, batch_size=8, rehearsal_weight=1.0, checkpoint_every=3, seed=7)
slow = (lambda done, total=None, message="": time.sleep(delay)) if delay else (lambda *a, **k: None)
finetune(store, tiny_ref(Path(sys.argv[5])), ds, toy_comparisons(ds, 40), cfg, run_id, out, progress=slow)
print("FINISHED")
"""


def _child(db: Path, out: Path, run_id: int, delay: float, models: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(out), str(run_id), str(delay), str(models)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


@pytest.mark.slow
def test_resume_after_kill_gives_the_same_weights_as_an_uninterrupted_run(db_file: Path, tmp_path: Path) -> None:
    tiny_testbed()  # render once, in this process's cache, before the children share it
    tiny_ref(tmp_path)
    store = open_store(db_file)
    a, b = new_run(store, arm="uninterrupted"), new_run(store, arm="killed")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the children: the same kernels, so the same floating-point sums
    try:
        ds = tiny_testbed()
        cfg = FinetuneConfig(lr=3e-3, epochs=4, batch_size=8, rehearsal_weight=1.0, checkpoint_every=3, seed=7)
        finetune(store, tiny_ref(tmp_path), ds, toy_comparisons(ds, 40), cfg, a, tmp_path / "a")
    finally:
        torch.set_num_threads(threads)

    p = _child(db_file, tmp_path / "b", b, 0.4, tmp_path)
    state = tmp_path / "b" / "resume.pt"
    deadline = time.time() + 240
    while time.time() < deadline and not state.exists():
        time.sleep(0.1)
    assert state.exists(), p.stderr.read() if p.poll() is not None else "no resume point written"
    time.sleep(0.6)  # a step or so past the resume point
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    assert not (tmp_path / "b" / "checkpoint.pt").exists()
    killed_at = torch.load(state, weights_only=False)["step"]
    assert 0 < killed_at < 20

    p = _child(db_file, tmp_path / "b", b, 0.0, tmp_path)
    assert p.wait(timeout=300) == 0, p.stderr.read()
    wa, wb = _weights(tmp_path / "a" / "checkpoint.pt"), _weights(tmp_path / "b" / "checkpoint.pt")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not state.exists()  # the resume point is dropped once the checkpoint is final
    with store.session() as s:
        def losses(rid: int) -> list[tuple[int, float]]:
            rows = s.exec(select(Metric).where(Metric.run_id == rid, Metric.name == "loss").order_by(Metric.step))
            return [(m.step, m.value) for m in rows]

        # every step logged exactly once, with the same values as the uninterrupted run
        assert losses(a) == losses(b) and [st for st, _ in losses(a)] == list(range(20))


def test_finetune_records_metrics_checkpoint_and_is_idempotent(db_file: Path, tmp_path: Path) -> None:
    store = open_store(db_file)
    ds, ref = tiny_testbed(), tiny_ref(tmp_path)
    run_id = new_run(store)
    comps = toy_comparisons(ds, 24)
    cfg = FinetuneConfig(lr=1e-2, epochs=2, batch_size=8, rehearsal_weight=0.5, weight_average_alpha=0.5)
    ckpt = finetune(store, ref, ds, comps, cfg, run_id, tmp_path / "run")
    with store.session() as s:
        run = s.get(Run, run_id)
        art = s.get(Artifact, run.checkpoint_artifact_id)
        names = {m.name for m in s.exec(select(Metric).where(Metric.run_id == run_id))}
        n_loss = len(s.exec(select(Metric).where(Metric.run_id == run_id, Metric.name == "loss")).all())
    assert art.path == str(ckpt) and art.kind == "checkpoint"
    assert names == {"loss", "loss_pc", "loss_clip", "lr"} and n_loss == 2 * 3
    # the checkpoint loads through pcclip.models, and weight averaging put it halfway
    base, _, _ = load_model(ref)
    tuned, _, _ = load_model(ref.with_checkpoint(ckpt))
    k = "transformer.resblocks.0.mlp.c_fc.weight"
    assert not torch.equal(base.state_dict()[k], tuned.state_dict()[k])
    assert torch.equal(base.state_dict()["visual.conv1.weight"], tuned.state_dict()["visual.conv1.weight"])
    mtime = ckpt.stat().st_mtime_ns
    assert finetune(store, ref, ds, comps, cfg, run_id, tmp_path / "run") == ckpt
    assert ckpt.stat().st_mtime_ns == mtime


def test_evaluate_run_writes_zeroshot_rows_with_chance_one_over_k(db_file: Path, tmp_path: Path) -> None:
    store = open_store(db_file)
    ds, ref = tiny_testbed(), tiny_ref(tmp_path)
    run_id = new_run(store, arm="base")
    cfg = EvalConfig(difference=False, comparative_pairs=3, geometry_max_pairs=10)
    evaluate_run(store, run_id, ref, ds, cfg)
    with store.session() as s:
        rows = {(r.task, r.metric): r for r in s.exec(select(Result).where(Result.run_id == run_id))}
    k = len(ds.classnames)
    name = ds.name
    for task in (f"zeroshot/{name}", f"zeroshot-ensemble/{name}"):
        r = rows[(task, "accuracy")]
        assert r.chance == pytest.approx(1 / k) and r.n_examples == len(ds.items("test")) and 0 <= r.value <= 1
    assert (f"geometry/{name}", "distance_forward") in rows and (f"geometry/{name}", "distance_reversed") in rows
    comp = rows.get((f"comparative/{name}", "accuracy"))
    assert comp is None or comp.chance == pytest.approx(1 / k)
