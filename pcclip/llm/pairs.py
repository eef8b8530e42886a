"""Deterministic image pairs for a comparison pool.

One fixed order per (n_items, seed), independent of how many pairs are asked for, so that every prefix is the
smaller pool (`sample_pairs(n, 100, s) == sample_pairs(n, 1000, s)[:100]`) and every LLM arm sees the very same
pairs. A pair is unordered for duplicate checks: once (i, j) is drawn, neither (i, j) nor (j, i) is drawn again,
and the orientation (which image is described relative to which) is itself random.
"""

from __future__ import annotations

import random

from pcclip.errors import PcclipError


def max_pairs(n_items: int) -> int:
    return n_items * (n_items - 1) // 2


def sample_pairs(n_items: int, n_pairs: int, seed: int) -> list[tuple[int, int]]:
    """The first `n_pairs` of the fixed pair order for `n_items` images and `seed`: no self-pairs, no duplicates."""
    if n_items < 2:
        raise PcclipError(f"need at least 2 images to make pairs, the split has {n_items}")
    if n_pairs < 0:
        raise PcclipError(f"n_pairs must be >= 0, got {n_pairs}")
    limit = max_pairs(n_items)
    if n_pairs > limit:
        raise PcclipError(f"{n_pairs} pairs asked, but {n_items} images give only {limit} distinct pairs")
    # random.Random's integer draws are stable across Python versions and platforms (unlike hash()).
    rng = random.Random(f"pcclip-pairs:{n_items}:{seed}")
    seen: set[tuple[int, int]] = set()
    out: list[tuple[int, int]] = []
    while len(out) < n_pairs:
        i = rng.randrange(n_items)
        j = rng.randrange(n_items - 1)
        if j >= i:  # uniform over j != i
            j += 1
        key = (i, j) if i < j else (j, i)
        if key in seen:
            continue
        seen.add(key)
        out.append((i, j))
    return out
