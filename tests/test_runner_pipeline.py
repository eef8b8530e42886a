"""The real pipeline through the runner: a tiny testbed ablation, with a worker `kill -9`ed mid-finetune.

The interrupted-and-resumed run must end with exactly the results of an uninterrupted one (the finetune resumes
from its checkpoint and replays the same batches), no duplicate rows, and an intact database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w
from runner_helpers import assert_clean, kill_leftovers, pcclip, poll_rows, result_fingerprint, rows, wait_for

TINY = {
    "name": "tiny",
    "dataset": {"pool_size": 20, "options": {"n_train": 200, "n_pool": 40, "n_test": 40}},
    "base_model": {"pretrain": {"steps": 5, "batch_size": 32, "threads": 1}},
    "llm": [{"name": "oracle", "backend": "template"}],
    "ablation": {"n": [0, 20], "seeds": [0]},
    "finetune": {"profile": "testbed", "epochs": 2, "batch_size": 5, "checkpoint_every": 2},
    "evaluation": {
        "config": {"n_pairs": 10, "seeds": [0, 1], "ensemble": False, "comparative": False, "geometry": False}
    },
    "executor": {"jobs": 1, "heartbeat_s": 0.5},
}


@pytest.mark.slow
def test_real_pipeline_kill9_mid_finetune_matches_uninterrupted(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.toml"
    spec.write_text(tomli_w.dumps(TINY))
    ref_db, db = tmp_path / "ref.db", tmp_path / "killed.db"
    try:
        pcclip(ref_db, "run", str(spec), "--no-plots", timeout=600)
        reference = result_fingerprint(ref_db)
        assert any(r[0] == "oracle" and r[3] == "diff/mean" for r in reference)

        proc = subprocess.Popen(
            [sys.executable, "-m", "pcclip", "--db", str(db), "run", str(spec), "--no-plots"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # Wait until the finetune has written a resume point (metrics are committed with it).
            job, pid = wait_for(
                lambda: poll_rows(
                    db,
                    "SELECT j.id, j.pid FROM job j JOIN run r ON r.job_id = j.id WHERE j.kind = 'finetune' "
                    "AND j.status = 'running' AND EXISTS (SELECT 1 FROM metric m WHERE m.run_id = r.id)",
                ),
                timeout=300,
                every=0.05,
            )[0]
            os.kill(pid, signal.SIGKILL)
            proc.kill()  # and the runner: the re-run below must pick everything up
            proc.wait(30)
        finally:
            proc.kill()
        assert rows(db, "SELECT status FROM job WHERE id = ?", (job,)) == [("running",)]
        pcclip(db, "run", str(spec), "--no-plots", timeout=600)
        assert rows(db, "SELECT status, attempt FROM job WHERE id = ?", (job,)) == [("done", 2)]
        assert result_fingerprint(db) == reference
        assert_clean(db)
    finally:
        kill_leftovers(ref_db)
        kill_leftovers(db)
