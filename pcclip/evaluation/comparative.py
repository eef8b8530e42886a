"""Comparative prompting: move each class embedding using known differences to the classes it is confused with.

e_j' = normalize(alpha * e_j + (1 - alpha) * mean_i(e_i - text(d_ij))), where d_ij describes class i relative to
class j. Which pairs (i, j): the model's own zero-shot confusions on a labelled TRAINING split (true j predicted as
i), the `n_pairs` most frequent ones; never the test split (the public code used test confusions, which leaks).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pcclip.evaluation.common import normalize
from pcclip.evaluation.zeroshot import predict

PAIR_TEMPLATE = "The first image shows a {a}, while the second image shows a {b}."


def confused_pairs(img: np.ndarray, labels: np.ndarray, weights: np.ndarray, n_pairs: int) -> list[tuple[int, int]]:
    """The `n_pairs` most frequent (predicted i, true j) confusions on the given (training) rows, i != j."""
    img = np.asarray(img)
    ok = (labels >= 0) & ~np.isnan(img).any(axis=1)
    pred = predict(img[ok], weights)
    k = len(weights)
    conf = np.zeros((k, k), dtype=np.int64)
    np.add.at(conf, (labels[ok], pred), 1)
    np.fill_diagonal(conf, 0)
    order = np.argsort(-conf, axis=None, kind="stable")
    out = []
    for flat in order[:n_pairs]:
        j, i = divmod(int(flat), k)
        if conf[j, i] == 0:
            break
        out.append((i, j))
    return out


def pair_sentences(classnames: Sequence[str], pairs: Sequence[tuple[int, int]],
                   template: str = PAIR_TEMPLATE) -> list[str]:
    """d_ij for each (i, j): a sentence describing class i relative to class j."""
    return [template.format(a=classnames[i], b=classnames[j]) for i, j in pairs]


def adjust(weights: np.ndarray, pairs: Sequence[tuple[int, int]], pair_text: np.ndarray, alpha: float) -> np.ndarray:
    """Class embeddings after comparative prompting (classes without a pair keep their embedding)."""
    e = normalize(weights)
    out = e.copy()
    by_j: dict[int, list[np.ndarray]] = {}
    for (i, j), t in zip(pairs, pair_text):
        by_j.setdefault(j, []).append(e[i] - t)
    for j, moves in by_j.items():
        out[j] = alpha * e[j] + (1 - alpha) * np.mean(moves, axis=0)
    return normalize(out)
