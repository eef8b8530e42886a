"""Pretraining the testbed's base model: metrics in a real store, cached once per config, deterministic on CPU."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import torch
from testbed_helpers import tiny_pretrain_config, tiny_testbed

from pcclip.errors import PcclipError
from pcclip.models import ModelRef, load_model
from pcclip.pretrain import PretrainConfig, base_model_path, pretrain_base, quick_eval
from pcclip.store import open_store


@pytest.mark.slow
def test_tiny_pretrain_writes_metrics_and_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    db_file: Path) -> None:
    monkeypatch.setenv("PCCLIP_CACHE", str(tmp_path / "cache"))
    ds = tiny_testbed()
    cfg = tiny_pretrain_config()
    store = open_store(db_file)
    try:
        seen: list[float] = []
        path = pretrain_base(cfg, ds, store=store, progress=lambda d, t=None, m="": seen.append(d))
        assert path == base_model_path(cfg, ds) and path.exists()
        assert seen[-1] == cfg.steps
        mtime = path.stat().st_mtime_ns
        again = pretrain_base(cfg, ds, store=store)  # cached: no training, no duplicate rows
        assert again == path and path.stat().st_mtime_ns == mtime
    finally:
        store.close()
    with sqlite3.connect(db_file) as con:
        runs = con.execute("select id, arm, variant, base_model, checkpoint_artifact_id from run").fetchall()
        assert len(runs) == 1
        run_id, arm, variant, base, art = runs[0]
        assert arm == "pretrain" and variant.startswith("pretrain:") and base == "pcclip-testbed-tiny"
        rows = con.execute("select step, value from metric where run_id=? and name='loss' order by step",
                           (run_id,)).fetchall()
        assert [r[0] for r in rows] == list(range(cfg.steps))
        assert all(0 < r[1] < 20 for r in rows)
        kind, apath = con.execute("select kind, path from artifact where id=?", (art,)).fetchone()
        assert kind == "base_model" and apath == str(path)
    model, _, _ = load_model(ModelRef.testbed(path))
    assert model.visual.image_size == (32, 32)
    scores = quick_eval(path, ds, n_pairs=10)
    assert set(scores) >= {"zeroshot", "diff/size", "diff/color", "diff/attributes", "diff/captions", "diff/mean"}
    assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_pretraining_is_deterministic_for_a_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    states = []
    for name in ("a", "b"):
        monkeypatch.setenv("PCCLIP_CACHE", str(tmp_path / name))
        path = pretrain_base(tiny_pretrain_config(steps=2), tiny_testbed())
        states.append(torch.load(path, weights_only=True)["state_dict"])
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    monkeypatch.setenv("PCCLIP_CACHE", str(tmp_path / "c"))
    other = torch.load(pretrain_base(tiny_pretrain_config(steps=2, seed=1), tiny_testbed()), weights_only=True)
    assert not torch.equal(other["state_dict"]["text_projection"], states[0]["text_projection"])


def test_threads_do_not_change_the_cache_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PCCLIP_CACHE", str(tmp_path))
    ds = tiny_testbed()
    assert base_model_path(tiny_pretrain_config(threads=1), ds) == base_model_path(tiny_pretrain_config(threads=2), ds)
    assert base_model_path(tiny_pretrain_config(lr=1e-4), ds) != base_model_path(tiny_pretrain_config(), ds)


def test_patch_size_mismatch_is_rejected_before_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PCCLIP_CACHE", str(tmp_path))
    ds = tiny_testbed(patch_size=8)
    with pytest.raises(PcclipError, match="patch size 16 but the testbed config says patch_size 8"):
        pretrain_base(tiny_pretrain_config(), ds)
    with pytest.raises(PcclipError, match="unknown architecture"):
        pretrain_base(PretrainConfig(arch="nope", steps=1), ds)


def test_pretraining_threads_follow_the_workers_share(monkeypatch: pytest.MonkeyPatch) -> None:
    from pcclip.pretrain import PretrainConfig

    monkeypatch.delenv("PCCLIP_CPU_THREADS", raising=False)
    assert PretrainConfig().thread_count() == 2
    monkeypatch.setenv("PCCLIP_CPU_THREADS", "1")  # set by the local executor: cores / jobs
    assert PretrainConfig().thread_count() == 1
    assert PretrainConfig(threads=3).thread_count() == 3  # an explicit setting wins
    assert PretrainConfig(threads=3).key_fields() == PretrainConfig().key_fields()  # never in the cache key


class _Stop(Exception):
    pass


def test_interrupted_pretraining_resumes_to_identical_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pretraining stopped after a resume point continues from it (not from step 0) to the same weights."""
    monkeypatch.setenv("PCCLIP_CACHE", str(tmp_path / "whole"))
    cfg = tiny_pretrain_config(steps=6).model_copy(update={"checkpoint_every": 2})
    whole = torch.load(pretrain_base(cfg, tiny_testbed()), weights_only=True)["state_dict"]

    monkeypatch.setenv("PCCLIP_CACHE", str(tmp_path / "split"))
    ds = tiny_testbed()

    def stop_after_5(done: float, total: float | None = None, message: str = "") -> None:
        if done == 5:
            raise _Stop  # like a kill: step 5 ran, its resume point (step 4) is on disk, no checkpoint yet
    with pytest.raises(_Stop):
        pretrain_base(cfg, ds, progress=stop_after_5)
    resume = base_model_path(cfg, ds).parent / "pretrain-resume.pt"
    assert resume.exists() and not base_model_path(cfg, ds).exists()
    seen: list[str] = []
    path = pretrain_base(cfg, ds, progress=lambda d, t=None, m="": seen.append(m))
    assert seen[0] == "resuming pretraining at step 4" and len(seen) == 3  # steps 5 and 6 only
    assert not resume.exists()
    again = torch.load(path, weights_only=True)["state_dict"]
    assert all(torch.equal(whole[k], again[k]) for k in whole)
