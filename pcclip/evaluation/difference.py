"""Difference-based classification (the paper's headline metric).

A test pair (a, b) with a sentence s that truly describes a relative to b is classified correctly iff
cos(text(s), normalize(normalize(img a) - normalize(img b))) > 0, i.e. the true order beats the reversed one, so
chance is 50%. Tasks are resampled with 5 seeds; `diff/mean` is the mean over tasks for each seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from pcclip.evaluation.common import ResultRow, normalize

if TYPE_CHECKING:
    from pcclip.data.base import Dataset, DiffPair, DiffTask


def difference_correct(img: np.ndarray, pairs: Sequence[DiffPair], text: np.ndarray) -> np.ndarray:
    """Per pair: is the true order preferred? `img` raw image rows of the task's split; `text` one row per pair.

    Pairs touching an unreadable image (NaN row) are dropped from the returned array.
    """
    a = np.array([p.a for p in pairs], dtype=np.int64)
    b = np.array([p.b for p in pairs], dtype=np.int64)
    ia, ib = normalize(np.asarray(img)[a]), normalize(np.asarray(img)[b])
    ok = ~(np.isnan(ia).any(axis=1) | np.isnan(ib).any(axis=1))
    d = normalize(ia[ok] - ib[ok])
    return (np.sum(d * normalize(text[ok]), axis=1) > 0)


def diff_tasks_for(dataset: Dataset, seed: int, n_pairs: int, skipped: list[str] | None = None) -> list[DiffTask]:
    """The dataset's difference tasks for one pair-sampling seed ([] when it defines none).

    The testbed's come from `pcclip.data.testbed_tasks`, real datasets' from `pcclip.data.real_tasks` (by kind).
    A task the data cannot support (e.g. CUB without captions) is left out and its reason appended to `skipped`.
    """
    builder = getattr(dataset, "diff_tasks", None)
    if callable(builder):
        return list(builder(seed=seed, n_pairs=n_pairs))
    if dataset.kind == "testbed":
        from pcclip.data.testbed_tasks import build_diff_tasks

        return list(build_diff_tasks(dataset, seed, n_pairs))
    from pcclip.data.real_tasks import build_task, supported_tasks
    from pcclip.errors import PcclipError

    out = []
    for name in supported_tasks(dataset):
        try:
            out.append(build_task(dataset, name, seed=seed, n_pairs=n_pairs))
        except PcclipError as exc:
            if skipped is not None:
                skipped.append(str(exc))
    return out


def evaluate_difference(
    tasks_by_seed: dict[int, list[DiffTask]],
    image_emb: Callable[[str], np.ndarray],
    text_emb: Callable[[list[str]], np.ndarray],
) -> list[ResultRow]:
    """Rows `diff/<name>` (accuracy per seed, chance 0.5) and `diff/mean` (mean over tasks, per seed)."""
    rows: list[ResultRow] = []
    for seed, tasks in sorted(tasks_by_seed.items()):
        accs: list[float] = []
        total = 0
        for task in tasks:
            if not task.pairs:
                continue
            correct = difference_correct(image_emb(task.split), task.pairs, text_emb([p.sentence for p in task.pairs]))
            if len(correct) == 0:
                continue
            acc = float(correct.mean())
            accs.append(acc)
            total += len(correct)
            rows.append(ResultRow(f"diff/{task.name}", seed, "accuracy", acc, task.chance, len(correct)))
        if accs:
            rows.append(ResultRow("diff/mean", seed, "accuracy", float(np.mean(accs)), 0.5, total))
    return rows
