"""`pcclip testbed build` / `show`, run as real subprocesses on a tiny configuration."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

TINY = ["--n-train", "32", "--n-pool", "8", "--n-test", "40", "--steps", "2", "--threads", "1"]


def pcclip(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PCCLIP_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "pcclip", *args], capture_output=True, text=True, timeout=600,
                          env=env)


def test_bad_config_fails_in_one_line_before_any_work(tmp_path: Path, db_file: Path) -> None:
    out = pcclip("--db", str(db_file), "testbed", "build", "--vary", "shape,colour", cache=tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "error: testbed config: vary: unknown attribute 'colour'; allowed: shape, color, size, count, position, fill"
    ]
    assert not db_file.exists() and not any(tmp_path.iterdir())
    out = pcclip("--db", str(db_file), "testbed", "build", "--image-size", "24", cache=tmp_path)
    assert out.returncode == 1 and "image_size 24 is too small for patch_size 16" in out.stderr
    out = pcclip("testbed", "show", *TINY, cache=tmp_path)
    assert out.returncode == 1 and "not built yet" in out.stderr


@pytest.mark.slow
def test_build_then_show(tmp_path: Path, db_file: Path) -> None:
    cache = tmp_path / "cache"
    out = pcclip("--db", str(db_file), "testbed", "build", *TINY, cache=cache)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "base model:" in out.stdout and "pretraining: 2 steps" in out.stdout
    with sqlite3.connect(db_file) as con:
        assert con.execute("select kind, n_items from dataset").fetchall() == [("testbed", 80)]
        assert con.execute("select count(*) from metric where name='loss'").fetchone() == (2,)
    out = pcclip("testbed", "show", *TINY, "--pairs", "20", cache=cache)
    assert out.returncode == 0, out.stderr[-3000:]
    for needle in ("train", "pool", "test", "a photo of", "diff/size", "diff/captions", "zeroshot", "diff/mean"):
        assert needle in out.stdout, needle
    assert "initialized randomly" not in out.stderr  # open_clip's warning is wrong here: our checkpoint loads next
