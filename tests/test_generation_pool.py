"""Comparison pools in a real SQLite file: provenance, reuse, extension, nesting, and resume after kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from generation_helpers import TinyShapes

from pcclip.errors import PcclipError
from pcclip.llm.config import preset
from pcclip.llm.generate import generate_pool
from pcclip.llm.pairs import sample_pairs
from pcclip.llm.pool import accepted_comparisons, pool_counts, pool_provenance
from pcclip.store import open_store

TESTS = Path(__file__).parent


def _rows(db: Path, pool_id: int) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(
            "SELECT idx, item_i, item_j, caption_i, caption_j, prompt_id, raw_text, text, accepted, reject_reason "
            "FROM comparison WHERE pool_id = ? ORDER BY idx",
            (pool_id,),
        ).fetchall()
    finally:
        con.close()


def test_pool_rows_provenance_reuse_and_extension(db_file: Path) -> None:
    store = open_store(db_file)
    data = TinyShapes(12)
    cfg = preset("oracle")
    seen: list[tuple] = []
    pid = generate_pool(store, data, "pool", cfg, 20, seed=1, batch_size=8, progress=lambda *a: seen.append(a))
    assert seen[-1][0] == seen[-1][1] == 20 and "accepted" in seen[-1][2]
    rows = _rows(db_file, pid)
    assert [r[0] for r in rows] == list(range(20))
    items = data.items("pool")
    for (_idx, i, j, ci, cj, prompt, raw, text, acc, reason), (pi, pj) in zip(rows, sample_pairs(12, 20, 1)):
        assert (i, j) == (pi, pj) and ci == items[i].caption and cj == items[j].caption
        assert prompt == "paper-v1" and raw and acc == 1 and text and reason is None
    prov = pool_provenance(store, pid)
    assert prov["backend"] == "template" and prov["model_id"] == "oracle-v2" and prov["seed"] == 1
    assert prov["params"]["sampling"]["temperature"] == 0.0 and prov["prompt_id"] == "paper-v1"

    # same inputs: same pool, nothing regenerated; a larger n extends it; another seed is another pool
    assert generate_pool(store, data, "pool", cfg, 20, seed=1) == pid
    assert generate_pool(store, data, "pool", cfg, 35, seed=1) == pid
    rows35 = _rows(db_file, pid)
    assert rows35[:20] == rows and len(rows35) == 35
    assert generate_pool(store, data, "pool", cfg, 10, seed=2) != pid
    assert generate_pool(store, data, "pool", preset("oracle", name="other-name"), 5, seed=1) == pid
    assert pool_provenance(store, pid)["n_target"] == 35

    # N arms nest: the first n accepted in the fixed order
    a10, a30 = accepted_comparisons(store, pid, 10), accepted_comparisons(store, pid, 30)
    assert [c.idx for c in a10] == [c.idx for c in a30[:10]]
    with pytest.raises(PcclipError, match="has 35 accepted comparisons, 36 asked"):
        accepted_comparisons(store, pid, 36)
    assert len(accepted_comparisons(store, pid, 36, strict=False)) == 35


def test_min_accepted_extends_past_rejections(db_file: Path) -> None:
    store = open_store(db_file)
    # a strict filter rejects part of the oracle's sentences: the pool grows until enough are accepted
    cfg = preset("oracle", filter={"min_chars": 245})
    pid = generate_pool(store, TinyShapes(16), "pool", cfg, 10, batch_size=5, min_accepted=12)
    counts = pool_counts(store, pid)
    assert counts["accepted"] >= 12 and counts["rejected"] > 0
    assert counts["reasons"] == {"too-short": counts["rejected"]}
    assert len(accepted_comparisons(store, pid, 12)) == 12


def test_bad_input_fails_before_any_generation(db_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(db_file)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    data = TinyShapes(6)
    with pytest.raises(PcclipError, match="have no caption"):
        generate_pool(store, data, "nocap", preset("smollm2-135m"), 4)
    with pytest.raises(PcclipError, match="needs attribute records"):
        generate_pool(store, data, "nocap", preset("oracle"), 4)
    with pytest.raises(PcclipError, match="no split 'test'"):
        generate_pool(store, data, "test", preset("oracle"), 4)
    with pytest.raises(PcclipError, match="give only 15"):
        generate_pool(store, data, "pool", preset("oracle"), 16)
    with pytest.raises(PcclipError, match="GGUF model not found: /nowhere/m.gguf"):
        generate_pool(store, data, "pool", preset("smollm2-135m", model="/nowhere/m.gguf"), 4)
    corrupt = db_file.with_name("corrupt.gguf")
    corrupt.write_bytes(b"PK\x03\x04 not a gguf at all")
    with pytest.raises(PcclipError, match="corrupt.gguf is not a GGUF file"):
        generate_pool(store, data, "pool", preset("smollm2-135m", model=str(corrupt)), 4)
    with pytest.raises(PcclipError, match="set the environment variable OPENAI_API_KEY"):
        generate_pool(store, data, "pool", preset("gpt-4"), 4)
    con = sqlite3.connect(db_file)
    assert con.execute("SELECT count(*) FROM comparison").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM pool").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM llm").fetchone()[0] == 0


WORKER = """
import sys, time
sys.path.insert(0, {tests!r})
from generation_helpers import TinyShapes
from pcclip.llm.config import preset
from pcclip.llm.generate import generate_pool
from pcclip.store import open_store

def slow(done, total=None, message=""):
    time.sleep(0.03)  # a slow consumer, so that the parent's kill lands mid-run

generate_pool(open_store({db!r}), TinyShapes(40), "pool", preset("oracle"), 400, seed=3, batch_size=10,
              progress=slow)
print("FINISHED")
"""


def test_resume_after_kill_9_gives_the_uninterrupted_rows(tmp_path: Path) -> None:
    killed_db, clean_db = tmp_path / "killed.db", tmp_path / "clean.db"
    open_store(killed_db).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER.format(tests=str(TESTS), db=str(killed_db))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 90
    n = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            con = sqlite3.connect(killed_db, timeout=30)
            n = con.execute("SELECT count(*) FROM comparison").fetchone()[0]
            con.close()
            if n >= 100:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.02)
    finally:
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, err[-2000:])
    assert "FINISHED" not in out

    con = sqlite3.connect(killed_db)
    partial = con.execute("SELECT count(*) FROM comparison").fetchone()[0]
    con.close()
    assert 100 <= partial < 400  # killed midway, every committed batch kept

    store = open_store(killed_db)
    pid = generate_pool(store, TinyShapes(40), "pool", preset("oracle"), 400, seed=3, batch_size=10)
    clean = open_store(clean_db)
    pid_clean = generate_pool(clean, TinyShapes(40), "pool", preset("oracle"), 400, seed=3, batch_size=64)
    resumed = _rows(killed_db, pid)
    assert len(resumed) == 400 and len({r[0] for r in resumed}) == 400
    assert resumed == _rows(clean_db, pid_clean)


@pytest.mark.slow
@pytest.mark.llm
def test_smollm2_pool_end_to_end(db_file: Path) -> None:
    """The real SmolLM2 GGUF through the llama_cpp backend: rows stored with provenance, extension reuses rows."""
    from pcclip.hashing import file_sha256
    from pcclip.llm.local_models import default_gguf

    store = open_store(db_file)
    cfg = preset("smollm2-135m", max_tokens=8, prompt_id="one-sentence-v1", n_ctx=512, n_parallel=2)
    pid = generate_pool(store, TinyShapes(8), "pool", cfg, 1, batch_size=2)
    first = _rows(db_file, pid)
    assert generate_pool(store, TinyShapes(8), "pool", cfg, 2, batch_size=2) == pid
    rows = _rows(db_file, pid)
    assert rows[:1] == first and len(rows) == 2
    assert all(r[6].strip() for r in rows)  # SmolLM2 always says something
    prov = pool_provenance(store, pid)
    assert prov["backend"] == "llama_cpp" and prov["file_sha256"] == file_sha256(default_gguf("smollm2-135m"))
    assert prov["params"]["prompt_id"] == "one-sentence-v1" and prov["params"]["sampling"]["max_tokens"] == 8
