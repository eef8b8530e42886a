"""Model loading: the testbed architectures, checkpoints of the wrong architecture, offline pretrained tags,
weight averaging, fingerprints."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from pcclip.errors import PcclipError
from pcclip.models import ModelRef, average_weights, load_model, model_fingerprint, save_checkpoint


def test_testbed_architecture_loads_with_its_tokenizer() -> None:
    model, preprocess, tok = load_model(ModelRef(name="pcclip-testbed-tiny"))
    assert not model.training
    tokens = tok(["a photo of two large solid red circles on the left."])
    assert tokens.shape == (1, 48)
    with torch.no_grad():
        assert model.encode_text(tokens).shape == (1, 32)
    assert "Normalize" in repr(preprocess)


def test_checkpoint_of_another_architecture_names_both(tmp_path: Path) -> None:
    torch.manual_seed(0)
    big, _, _ = load_model(ModelRef(name="pcclip-testbed-vit"))
    declared = save_checkpoint(big, tmp_path / "vit.pt", "pcclip-testbed-vit")
    bare = tmp_path / "bare.pt"
    torch.save(big.state_dict(), bare)  # a plain state dict: the architecture is recognised from its shapes
    for path in (declared, bare):
        with pytest.raises(PcclipError) as exc:
            load_model(ModelRef(name="pcclip-testbed-tiny", checkpoint=str(path)))
        msg = str(exc.value)
        assert "pcclip-testbed-vit" in msg and "pcclip-testbed-tiny" in msg and str(path) in msg
    # the right architecture loads the same weights
    again, _, _ = load_model(ModelRef(name="pcclip-testbed-vit", checkpoint=str(bare)))
    assert torch.equal(again.state_dict()["text_projection"], big.state_dict()["text_projection"])


def test_unreadable_and_missing_checkpoints(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(PcclipError, match="cannot read checkpoint"):
        load_model(ModelRef(name="pcclip-testbed-tiny", checkpoint=str(junk)))
    with pytest.raises(PcclipError, match="checkpoint not found"):
        load_model(ModelRef(name="pcclip-testbed-tiny", checkpoint=str(tmp_path / "nope.pt")))
    with pytest.raises(PcclipError, match="unknown architecture 'ViT-Z-99'"):
        load_model(ModelRef(name="ViT-Z-99"))
    with pytest.raises(PcclipError, match="has no pretrained tag 'nonesuch'"):
        load_model(ModelRef(name="ViT-B-32", pretrained="nonesuch"))


def test_offline_pretrained_tag_fails_fast_and_says_how_to_provide_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    """With HF_HUB_OFFLINE=1 and no cached weights: one line, well under the ~50 s a hub request would wait."""
    import open_clip  # noqa: F401 - imported up front so the timing covers only the check

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.monotonic()
    with pytest.raises(PcclipError) as exc:
        load_model(ModelRef(name="ViT-B-32", pretrained="laion2b_s34b_b79k"))
    assert time.monotonic() - t0 < 5.0
    msg = str(exc.value)
    assert "ViT-B-32/laion2b_s34b_b79k" in msg and "--checkpoint" in msg and "\n" not in msg


def test_average_weights() -> None:
    a = {"w": torch.ones(2, 2), "n": torch.tensor([3])}
    b = {"w": torch.zeros(2, 2), "n": torch.tensor([5])}
    avg = average_weights(a, b, 0.25)
    assert torch.allclose(avg["w"], torch.full((2, 2), 0.25)) and avg["n"].item() == 3
    with pytest.raises(PcclipError, match="keys differ"):
        average_weights(a, {"w": torch.zeros(2, 2)}, 0.5)
    with pytest.raises(PcclipError, match="shape"):
        average_weights(a, {"w": torch.zeros(3, 2), "n": torch.tensor([1])}, 0.5)
    with pytest.raises(PcclipError, match="alpha"):
        average_weights(a, b, 1.5)


def test_fingerprint_follows_the_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model, _, _ = load_model(ModelRef(name="pcclip-testbed-tiny"))
    p = save_checkpoint(model, tmp_path / "m.pt", "pcclip-testbed-tiny")
    ref = ModelRef(name="pcclip-testbed-tiny", checkpoint=str(p))
    first = model_fingerprint(ref)
    assert model_fingerprint(ref) == first
    assert model_fingerprint(ModelRef(name="ViT-B-32", pretrained="openai")) != first
    time.sleep(0.01)
    with torch.no_grad():
        model.text_projection.add_(1.0)
    save_checkpoint(model, p, "pcclip-testbed-tiny")
    assert model_fingerprint(ref) != first
