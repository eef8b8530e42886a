"""An encoder-decoder model (T5, Flan-T5) through transformers: the prompt goes in as plain text, no chat template.

Prompts are batched (padded on the right for the encoder) and decoded together. A model that answers junk (an
untrained T5 does) is returned as is; the output filter rejects it.
"""

from __future__ import annotations

import time
from pathlib import Path

from pcclip.errors import PcclipError
from pcclip.hashing import file_sha256
from pcclip.llm.base import Generation, SamplingParams


def _weights_sha(folder: Path) -> str | None:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (folder / name).is_file():
            return file_sha256(folder / name)
    return None


class T5Backend:
    backend = "t5"

    def __init__(self, model: str, *, device: str = "auto", max_input_tokens: int = 512) -> None:
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        self.model_id = model
        local = Path(model).expanduser()
        if model.startswith((".", "/", "~")) and not local.is_dir():
            raise PcclipError(f"T5 model folder {local} does not exist; pass a saved model folder or a hub repo id")
        try:
            self._tok = AutoTokenizer.from_pretrained(model)
            self._model = AutoModelForSeq2SeqLM.from_pretrained(model)
        except OSError as exc:
            raise PcclipError(
                f"cannot load the seq2seq model {model!r} ({str(exc).splitlines()[0][:160]}); "
                "give a local folder, or a hub repo with internet access (HF_HUB_OFFLINE unset)"
            ) from None
        self.file_sha256 = _weights_sha(local) if local.is_dir() else None
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self._device = torch.device(device)
        self._model.to(self._device).eval()
        self._max_input = max_input_tokens
        self._torch = torch

    def generate(self, prompts: list[str], params: SamplingParams) -> list[Generation]:
        if not prompts:
            return []
        torch = self._torch
        enc = self._tok(prompts, return_tensors="pt", padding=True, truncation=True, max_length=self._max_input)
        enc = {k: v.to(self._device) for k, v in enc.items()}
        kwargs: dict = {"max_new_tokens": params.max_tokens}
        if params.temperature > 0:
            torch.manual_seed(params.seed)
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
        else:
            kwargs.update(do_sample=False, num_beams=1)
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = self._model.generate(**enc, **kwargs)
        dt = (time.perf_counter() - t0) / len(prompts)
        pad = self._tok.pad_token_id
        eos = self._tok.eos_token_id
        gens = []
        for row in out:
            ids = [int(t) for t in row[1:]]  # drop the decoder start token
            n = len([t for t in ids if t not in (pad, eos)])
            finish = "stop" if eos in ids else "length"
            text = self._tok.decode(ids, skip_special_tokens=True)
            for s in params.stop:  # transformers has no plain string stops for every version: cut here
                if s and s in text:
                    text = text[: text.index(s)]
                    finish = "stop"
            gens.append(Generation(text, n, dt, finish))
        return gens

    def close(self) -> None:
        self._model = None
        self._tok = None
