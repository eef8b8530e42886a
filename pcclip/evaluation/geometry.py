"""Embedding geometry: does the difference of two class text embeddings point along the comparison's embedding?

forward  = 1 - cos(normalize(e_c1 - e_c2), text(d_12))   (d_12 describes c1 relative to c2; small is aligned)
reversed = 1 - cos(normalize(e_c1 - e_c2), text(d_21))   (the same difference against the swapped sentence)
An unrelated direction gives 1 on average, hence chance 1.0. A difference-aware model has forward < reversed.
"""

from __future__ import annotations

import numpy as np

from pcclip.evaluation.common import normalize


def distances(class_emb: np.ndarray, pairs: list[tuple[int, int]], fwd_text: np.ndarray, rev_text: np.ndarray
              ) -> tuple[float, float]:
    e = normalize(class_emb)
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    d = normalize(e[a] - e[b])
    fwd = 1 - np.sum(d * normalize(fwd_text), axis=1)
    rev = 1 - np.sum(d * normalize(rev_text), axis=1)
    return float(fwd.mean()), float(rev.mean())


def sample_pairs(k: int, max_pairs: int, seed: int) -> list[tuple[int, int]]:
    """Ordered class pairs (c1 != c2): all of them, or `max_pairs` sampled with `seed`."""
    allp = [(i, j) for i in range(k) for j in range(k) if i != j]
    if len(allp) <= max_pairs:
        return allp
    rng = np.random.default_rng(seed)
    return [allp[t] for t in sorted(rng.choice(len(allp), size=max_pairs, replace=False))]
