"""The PC-CLIP loss and which parameters train."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from science_helpers import tiny_clip

from pcclip.errors import PcclipError
from pcclip.train import FinetuneConfig, pcclip_loss, train_loop, trainable_names


def _direct_symmetric_ce(img_i: np.ndarray, img_j: np.ndarray, txt: np.ndarray, tau: float) -> float:
    """The loss written out with plain loops over numpy arrays."""
    def unit(v: np.ndarray) -> np.ndarray:
        return v / np.linalg.norm(v)

    b = len(img_i)
    d = [unit(unit(img_i[k]) - unit(img_j[k])) for k in range(b)]
    t = [unit(txt[k]) for k in range(b)]
    logits = np.array([[float(d[r] @ t[c]) / tau for c in range(b)] for r in range(b)])
    row = -np.mean([logits[k, k] - math.log(np.exp(logits[k]).sum()) for k in range(b)])
    col = -np.mean([logits[k, k] - math.log(np.exp(logits[:, k]).sum()) for k in range(b)])
    return (row + col) / 2


@pytest.mark.parametrize("tau", [1.0, 0.1])
def test_contrastive_loss_matches_direct_computation(tau: float) -> None:
    rng = np.random.default_rng(0)
    a, b, t = (rng.normal(size=(5, 7)).astype(np.float64) for _ in range(3))
    got = pcclip_loss(torch.tensor(a), torch.tensor(b), torch.tensor(t), "contrastive", tau)
    assert float(got) == pytest.approx(_direct_symmetric_ce(a, b, t, tau), rel=1e-9)


def test_contrastive_loss_small_when_aligned_and_large_when_reversed() -> None:
    # two orthogonal differences, text exactly along them
    a = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    b = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    t = torch.nn.functional.normalize(torch.nn.functional.normalize(a) - torch.nn.functional.normalize(b))
    aligned = float(pcclip_loss(a, b, t, "contrastive", 0.05))
    reversed_ = float(pcclip_loss(b, a, t, "contrastive", 0.05))
    assert aligned < 0.01 and reversed_ > 5


def test_mse_variant_uses_unrenormalised_difference() -> None:
    a = torch.tensor([[3.0, 0.0], [0.0, 2.0]])
    b = torch.tensor([[0.0, 5.0], [0.0, -1.0]])
    t = torch.tensor([[2.0, 0.0], [1.0, 0.0]])
    # differences of unit vectors: (1,-1) and (0,2); text normalised: (1,0) and (1,0)
    expected = ((0.0**2 + 1.0**2) + (1.0**2 + 2.0**2)) / 2
    assert float(pcclip_loss(a, b, t, "mse")) == pytest.approx(expected)


def test_only_text_transformer_blocks_change_by_default() -> None:
    model, _, tok = tiny_clip()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    emb = np.random.default_rng(0).normal(size=(8, 32)).astype(np.float32)
    comps = [(i, (i + 1) % 8, f"text number {i}") for i in range(8)]
    train_loop(model, tok, emb, comps, FinetuneConfig(lr=1e-2, epochs=2, batch_size=4))
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed, "nothing trained"
    assert all(k.startswith("transformer.") for k in changed), changed
    assert set(trainable_names(model, "text_transformer")) >= {k for k in changed}
    assert "token_embedding.weight" not in changed and "text_projection" not in changed
    assert "logit_scale" not in changed and not any(k.startswith(("visual.", "ln_final.")) for k in changed)


def test_text_tower_trains_embeddings_and_projection_but_not_visual() -> None:
    model, _, tok = tiny_clip()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    emb = np.random.default_rng(0).normal(size=(8, 32)).astype(np.float32)
    comps = [(i, (i + 1) % 8, f"text number {i}") for i in range(8)]
    train_loop(model, tok, emb, comps, FinetuneConfig(lr=1e-2, epochs=2, batch_size=4, train_params="text_tower"))
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert {"token_embedding.weight", "text_projection", "ln_final.weight"} <= changed
    assert not any(k.startswith("visual.") for k in changed) and "logit_scale" not in changed


def test_both_towers_train_visual_from_pixels() -> None:
    model, _, tok = tiny_clip()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pixels = torch.randn(8, 3, 32, 32)
    comps = [(i, (i + 1) % 8, f"text number {i}") for i in range(8)]
    cfg = FinetuneConfig(lr=1e-2, epochs=1, batch_size=4, train_params="both")
    with pytest.raises(PcclipError):
        train_loop(model, tok, np.zeros((8, 32), np.float32), comps, cfg)
    train_loop(model, tok, np.zeros((8, 32), np.float32), comps, cfg, pixels=pixels)
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert any(k.startswith("visual.") for k in changed) and "logit_scale" not in changed


def test_same_seed_gives_identical_weights_and_other_seed_differs() -> None:
    emb = np.random.default_rng(1).normal(size=(12, 32)).astype(np.float32)
    caps = [f"caption {i}" for i in range(12)]
    comps = [(i, (i * 5 + 1) % 12, f"comparison {i}") for i in range(12)]

    def run(seed: int) -> dict[str, torch.Tensor]:
        model, _, tok = tiny_clip(seed=0)
        cfg = FinetuneConfig(lr=1e-2, epochs=3, batch_size=5, seed=seed, rehearsal_weight=1.0)
        train_loop(model, tok, emb, comps, cfg, captions=caps)
        return model.state_dict()

    a, b, c = run(0), run(0), run(1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_profiles_and_bad_values() -> None:
    assert FinetuneConfig.profile("paper").batch_size == 512
    assert FinetuneConfig.profile("testbed", lr=0.5).lr == 0.5
    with pytest.raises(PcclipError):
        FinetuneConfig.profile("nope")
    with pytest.raises(ValueError):
        FinetuneConfig(lr=-1)


def test_fast_text_encoding_matches_open_clip() -> None:
    from pcclip.train import encode_text

    model, _, tok = tiny_clip()
    tokens = tok(["a red circle", "two big blue stars on the left of the picture, and more words here", "x"])
    with torch.no_grad():
        ours, ref = encode_text(model, tokens), model.encode_text(tokens)
    assert torch.allclose(ours, ref, atol=1e-5)
