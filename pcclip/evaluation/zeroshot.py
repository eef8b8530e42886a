"""Zero-shot classification: the paper's single template, and a template ensemble built by open_clip's
`build_zero_shot_classifier`. Prediction is the argmax cosine between image and class text embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pcclip.evaluation.common import normalize

PAPER_TEMPLATE = "This is a photo of a {}"

# Phrasings for the ensemble; generic ones, none of them the comparison phrasing used in training.
ENSEMBLE_TEMPLATES = (
    "a photo of a {}.",
    "a picture of a {}.",
    "an image of a {}.",
    "a drawing of a {}.",
    "a rendering of a {}.",
    "a photo of the {}.",
    "a close-up photo of a {}.",
    "a low resolution photo of a {}.",
)


def class_weights(model: Any, tokenizer: Any, classnames: Sequence[str], templates: Sequence[Any],
                  device: str = "cpu") -> np.ndarray:
    """K x D normalised class embeddings (template-averaged) from open_clip's classifier builder."""
    from open_clip import build_zero_shot_classifier

    model.eval()
    w = build_zero_shot_classifier(model, tokenizer, list(classnames), list(templates), num_classes_per_batch=64,
                                   device=device)
    return w.T.float().cpu().numpy()


def predict(img: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Argmax-cosine class per image row (raw rows are normalised here)."""
    return np.argmax(normalize(img) @ normalize(weights).T, axis=1)


def accuracy(img: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> tuple[float, int]:
    """(accuracy, n) over rows with a label and a readable image."""
    img = np.asarray(img)
    ok = (labels >= 0) & ~np.isnan(img).any(axis=1)
    if not ok.any():
        return float("nan"), 0
    pred = predict(img[ok], weights)
    return float(np.mean(pred == labels[ok])), int(ok.sum())
