"""The t5 backend on a tiny randomly initialised T5 built and saved here: junk output is stored, rejected with a
reason, and counted; nothing crashes."""

from __future__ import annotations

from pathlib import Path

import pytest
from generation_helpers import TinyShapes, build_tiny_t5
from sqlmodel import select

from pcclip.errors import PcclipError
from pcclip.hashing import file_sha256
from pcclip.llm.base import SamplingParams
from pcclip.llm.config import LlmConfig
from pcclip.llm.filter import filter_output
from pcclip.llm.generate import generate_pool
from pcclip.llm.pool import pool_counts, pool_provenance
from pcclip.store import open_store
from pcclip.store.tables import Comparison


@pytest.fixture(scope="module")
def tiny_t5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_t5(tmp_path_factory.mktemp("tiny-t5"))


def test_tiny_t5_pool_rejects_junk_with_reasons(tiny_t5: Path, db_file: Path) -> None:
    cfg = LlmConfig(name="tiny-t5", backend="t5", model=str(tiny_t5), device="cpu", max_tokens=12)
    store = open_store(db_file)
    pid = generate_pool(store, TinyShapes(8), "pool", cfg, 6, batch_size=4)
    counts = pool_counts(store, pid)
    assert counts["rows"] == 6
    # 12 random word-level tokens cannot make a 60-character comparison often; whatever it says is judged
    assert counts["rejected"] >= 1
    assert all(r in {"too-short", "empty"} or r.startswith("junk:") for r in counts["reasons"])
    with store.session() as s:
        rows = s.exec(select(Comparison).where(Comparison.pool_id == pid)).all()
    for r in rows:
        verdict = filter_output(r.raw_text)
        assert (r.accepted, r.reject_reason, r.text) == (verdict.accepted, verdict.reason, verdict.text)
        assert r.tokens <= 12 and r.seconds > 0
    prov = pool_provenance(store, pid)
    assert prov["backend"] == "t5" and prov["file_sha256"] == file_sha256(tiny_t5 / "model.safetensors")


def test_tiny_t5_batches_and_samples(tiny_t5: Path) -> None:
    from pcclip.llm.t5_backend import T5Backend

    b = T5Backend(str(tiny_t5), device="cpu")
    prompts = ["what is the difference", "a photo of three small red stars", "x"]
    greedy = b.generate(prompts, SamplingParams(max_tokens=8))
    assert len(greedy) == 3 and all(isinstance(g.text, str) and g.finish_reason in {"stop", "length"} for g in greedy)
    # batching does not change greedy outputs
    assert [g.text for g in greedy] == [b.generate([p], SamplingParams(max_tokens=8))[0].text for p in prompts]
    s1 = b.generate(prompts, SamplingParams(max_tokens=8, temperature=1.0, seed=1))
    s1b = b.generate(prompts, SamplingParams(max_tokens=8, temperature=1.0, seed=1))
    assert [g.text for g in s1] == [g.text for g in s1b]
    assert b.generate([], SamplingParams()) == []
    b.close()


def test_missing_t5_folder_is_named(tmp_path: Path) -> None:
    from pcclip.llm.t5_backend import T5Backend

    with pytest.raises(PcclipError, match="T5 model folder .*nope does not exist"):
        T5Backend(str(tmp_path / "nope"))
