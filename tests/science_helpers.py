"""Shared fixtures for the science tests: a tiny open_clip model and a tiny rendered testbed."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CONFIGS = Path(__file__).resolve().parents[1] / "pcclip" / "model_configs"
TINY = "pcclip-testbed-tiny"  # 32 px images, 1-layer towers, 32-d embeddings


def tiny_clip(seed: int = 0) -> tuple[Any, Any, Any]:
    """(model, preprocess, tokenizer) of the tiny testbed architecture, randomly initialised from `seed`."""
    import open_clip
    import torch

    open_clip.add_model_config(CONFIGS)
    torch.manual_seed(seed)
    model, _, preprocess = open_clip.create_model_and_transforms(TINY, pretrained=None)
    model.eval()
    return model, preprocess, open_clip.get_tokenizer(TINY)


@cache
def tiny_testbed(n_pool: int = 48, n_test: int = 48, n_train: int = 48) -> Any:
    """A rendered tiny testbed (32 px) in the session's cache."""
    from pcclip.data.testbed import build_testbed, testbed_config

    cfg = testbed_config(seed=0, image_size=32, patch_size=8, n_train=n_train, n_pool=n_pool, n_test=n_test)
    return build_testbed(cfg)


def toy_comparisons(ds: Any, n: int, split: str = "pool", seed: int = 0) -> list[tuple[int, int, str]]:
    """(i, j, text) comparisons with captions as text: enough signal for plumbing tests."""
    import numpy as np

    items = ds.items(split)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        i, j = rng.choice(len(items), size=2, replace=False)
        out.append((int(i), int(j), f"the first has {items[i].caption}, the second has {items[j].caption}"))
    return out


def tiny_ref(folder: Path, seed: int = 0) -> Any:
    """A ModelRef to a saved, seeded tiny model (random init alone would differ on every load)."""
    import torch

    from pcclip.models import ModelRef

    path = folder / f"tiny-{seed}.pt"
    if not path.exists():
        model, _, _ = tiny_clip(seed)
        torch.save({"arch": TINY, "state_dict": model.state_dict()}, path)
    return ModelRef(name=TINY, checkpoint=str(path))


def new_run(store: Any, **fields: Any) -> int:
    from pcclip.store.tables import Run

    with store.session() as s:
        run = Run(arm=fields.pop("arm", "test"), **fields)
        s.add(run)
        s.flush()
        return int(run.id)
