"""The paper's protocol pieces: deterministic nested pairs, versioned prompts, and LlmConfig validation and keys."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pcclip.errors import PcclipError, SpecError
from pcclip.llm.config import LlmConfig, preset
from pcclip.llm.pairs import max_pairs, sample_pairs
from pcclip.llm.prompts import PROMPTS, render_prompt


def test_pairs_are_deterministic_distinct_and_nest() -> None:
    big = sample_pairs(50, 800, seed=3)
    assert big == sample_pairs(50, 800, seed=3)
    for n in (0, 1, 10, 100, 799):
        assert sample_pairs(50, n, seed=3) == big[:n]
    assert all(i != j and 0 <= i < 50 and 0 <= j < 50 for i, j in big)
    assert len({frozenset(p) for p in big}) == len(big)  # no duplicates, in either orientation
    assert sample_pairs(50, 100, seed=4) != big[:100]
    # both orientations occur: the described image is not always the lower index
    assert any(i < j for i, j in big) and any(i > j for i, j in big)


def test_pairs_are_the_same_in_a_fresh_interpreter() -> None:
    code = "from pcclip.llm.pairs import sample_pairs; print(sample_pairs(30, 20, 7))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(sample_pairs(30, 20, 7))


def test_every_pair_can_be_drawn_and_no_more() -> None:
    allp = sample_pairs(6, max_pairs(6), seed=0)
    assert len({frozenset(p) for p in allp}) == 15
    with pytest.raises(PcclipError, match="only 15 distinct pairs"):
        sample_pairs(6, 16, seed=0)
    with pytest.raises(PcclipError, match="at least 2 images"):
        sample_pairs(1, 1, seed=0)


def test_paper_prompt_wording_and_quote_safety() -> None:
    p = render_prompt("paper-v1", "a red circle", 'a "big" blue square')
    assert p == (
        'What is the visual difference between an image with a description of "a red circle" and an image with '
        "a description of \"a 'big' blue square\"?"
    )
    assert all(PROMPTS[k].id == k for k in PROMPTS)
    assert "The first image" in render_prompt("one-sentence-v1", "a", "b")
    with pytest.raises(SpecError, match="unknown prompt id 'nope'"):
        render_prompt("nope", "a", "b")


def test_config_validation_messages_name_the_field() -> None:
    with pytest.raises(SpecError, match=r"llm x: backend: Input should be 'llama_cpp', 'openai', 't5' or 'template'"):
        LlmConfig.parse({"name": "a", "backend": "gpt"}, where="llm x")
    with pytest.raises(SpecError, match="backend openai needs `model`"):
        LlmConfig.parse({"name": "a", "backend": "openai"})
    with pytest.raises(SpecError, match="base_url: 'localhost:8000' is not an http"):
        LlmConfig.parse({"name": "a", "backend": "openai", "model": "gpt-4", "base_url": "localhost:8000"})
    with pytest.raises(SpecError, match="`base_url` only applies to backend openai"):
        LlmConfig.parse({"name": "a", "backend": "llama_cpp", "model": "x.gguf", "base_url": "http://h/v1"})
    with pytest.raises(SpecError, match="api_key_env: must be an environment variable NAME"):
        LlmConfig.parse({"name": "a", "backend": "openai", "model": "gpt-4", "api_key_env": "sk-abc123"})
    with pytest.raises(SpecError, match="prompt_id: .*unknown prompt id"):
        LlmConfig.parse({"name": "a", "backend": "template", "prompt_id": "v9"})
    with pytest.raises(SpecError, match="temperature: Input should be less than or equal to 2"):
        LlmConfig.parse({"name": "a", "backend": "template", "temperature": 5})
    with pytest.raises(SpecError, match="filter.min_chars"):
        LlmConfig.parse({"name": "a", "backend": "template", "filter": {"min_chars": -1}})
    with pytest.raises(SpecError, match="tempreature: Extra inputs are not permitted"):
        LlmConfig.parse({"name": "a", "backend": "template", "tempreature": 0.5})
    with pytest.raises(SpecError, match="name: must be 1-64 characters"):
        LlmConfig.parse({"name": "has space", "backend": "template"})
    with pytest.raises(SpecError, match="unknown LLM 'gpt5'"):
        preset("gpt5")


def test_key_covers_what_changes_the_text_only() -> None:
    base = preset("smollm2-135m")
    assert base.key() == preset("smollm2-135m").key()
    # the display name and hardware settings do not change the text
    assert base.key() == preset("smollm2-135m", name="renamed", n_gpu_layers=-1, n_parallel=2,
                                         n_threads=1).key()
    for change in ({"temperature": 0.7}, {"prompt_id": "one-sentence-v1"}, {"max_tokens": 40},
                   {"filter": {"min_chars": 30}}, {"chat_format": "chatml"}, {"sampling_seed": 1}):
        assert preset("smollm2-135m", **change).key() != base.key(), change
    oa = preset("gpt-4")
    assert oa.key() != preset("gpt-4", base_url="http://127.0.0.1:9/v1").key()
    assert oa.key() == preset("gpt-4", concurrency=16, timeout_s=5, api_key_env="MY_KEY").key()
    # Gemma-3-270M is a base model: its chat format is filled in
    assert preset("gemma3-270m").resolved_chat_format == "gemma"
    # a config survives a JSON round trip (the runner embeds it in specs)
    assert LlmConfig.model_validate_json(base.model_dump_json()) == base
