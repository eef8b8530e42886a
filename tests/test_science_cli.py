"""`pcclip finetune` and `pcclip eval` end to end on a tiny testbed with an oracle pool."""

from __future__ import annotations

import json
from pathlib import Path

from science_helpers import TINY, tiny_ref, tiny_testbed
from sqlmodel import select
from typer.testing import CliRunner

from pcclip.cli import app
from pcclip.data.testbed import register_dataset
from pcclip.llm.config import LlmConfig
from pcclip.llm.generate import generate_pool
from pcclip.store import open_store
from pcclip.store.tables import Metric, Result, Run


def test_finetune_then_eval_from_the_cli(db_file: Path, tmp_path: Path) -> None:
    store = open_store(db_file)
    ds = tiny_testbed()
    register_dataset(store, ds)
    pool = generate_pool(store, ds, "pool", LlmConfig(name="oracle", backend="template"), n_pairs=16, seed=0)
    ckpt = tiny_ref(tmp_path).checkpoint
    runner = CliRunner()
    res = runner.invoke(app, ["--db", str(db_file), "finetune", str(pool), "--n", "16", "--model", TINY,
                              "--checkpoint", ckpt, "--epochs", "2", "--batch-size", "8", "--variant", "cli"])
    assert res.exit_code == 0, res.output
    with store.session() as s:
        run = s.exec(select(Run).where(Run.variant == "cli")).one()
        assert run.n == 16 and run.pool_id == pool and run.checkpoint_artifact_id is not None
        assert json.loads(run.config_json)["epochs"] == 2
        assert len(s.exec(select(Metric).where(Metric.run_id == run.id, Metric.name == "loss")).all()) == 4

    res = runner.invoke(app, ["--db", str(db_file), "eval", str(run.id), "--seeds", "2", "--n-pairs", "8",
                              "--no-comparative"])
    assert res.exit_code == 0, res.output
    with store.session() as s:
        rows = s.exec(select(Result).where(Result.run_id == run.id)).all()
    tasks = {r.task for r in rows}
    assert "diff/mean" in tasks and f"zeroshot/{ds.name}" in tasks and f"geometry/{ds.name}" in tasks
    assert {r.seed for r in rows if r.task == "diff/mean"} == {0, 1}
    assert "zeroshot" in res.output

    bad = runner.invoke(app, ["--db", str(db_file), "finetune", "999", "--n", "4"])
    assert bad.exit_code != 0 and "no comparison pool with id 999" in str(bad.exception)
