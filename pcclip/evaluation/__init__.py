"""The paper's evaluations, each writing `result` rows (run_id, task, seed, metric, value, chance, n_examples).

| task | metric | chance |
| --- | --- | --- |
| `diff/<name>`, `diff/mean` | accuracy (one row per pair-sampling seed) | 0.5 |
| `zeroshot/<dataset>` | accuracy, template "This is a photo of a {}" | 1/K |
| `zeroshot-ensemble/<dataset>` | accuracy, open_clip `build_zero_shot_classifier` over a template list | 1/K |
| `comparative/<dataset>` | accuracy after comparative prompting (alpha; pairs from training confusions) | 1/K |
| `geometry/<dataset>` | distance_forward, distance_reversed (1 - cosine) | 1.0 |
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pcclip.evaluation import comparative as comp
from pcclip.evaluation import geometry as geo
from pcclip.evaluation import zeroshot as zs
from pcclip.evaluation.common import ResultRow, encode_texts, write_results
from pcclip.evaluation.difference import diff_tasks_for, evaluate_difference
from pcclip.progress import Progress, no_progress

if TYPE_CHECKING:
    from pcclip.data.base import Dataset
    from pcclip.store.engine import Store

__all__ = ["EvalConfig", "evaluate_run", "ResultRow", "write_results"]


class EvalConfig(BaseModel):
    """Which evaluations to run and how."""

    model_config = ConfigDict(extra="forbid")

    difference: bool = True
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])  # pair-sampling seeds
    n_pairs: int = Field(500, ge=1)  # test pairs per difference task and seed
    zeroshot: bool = True
    ensemble: bool = True
    zeroshot_split: str = "test"
    zeroshot_template: str = zs.PAPER_TEMPLATE
    ensemble_templates: list[str] = Field(default_factory=lambda: list(zs.ENSEMBLE_TEMPLATES))
    comparative: bool = True
    comparative_alpha: float = Field(0.8, ge=0, le=1)
    comparative_split: str = "train"  # where confused class pairs are found (never the test split)
    comparative_pairs: int = Field(10, ge=1)
    pair_template: str = comp.PAIR_TEMPLATE
    geometry: bool = True
    geometry_max_pairs: int = Field(200, ge=1)
    batch_size: int = Field(256, ge=1)


def _labels(dataset: Dataset, split: str) -> np.ndarray:
    return np.array([-1 if it.label is None else it.label for it in dataset.items(split)], dtype=np.int64)


def evaluate_run(
    store: Store,
    run_id: int,
    model: Any,
    dataset: Dataset,
    cfg: EvalConfig,
    device: str = "cpu",
    progress: Progress = no_progress,
    *,
    image_model: Any = None,
    job_id: int | None = None,
) -> None:
    """Evaluate the model `model` (a ModelRef) on `dataset` and write the rows under `run_id`.

    `image_model`: the ModelRef whose image tower `model` shares (the base model, for a text-only finetune), so the
    image-embedding cache is reused across runs; defaults to `model` itself.
    """
    from pcclip.embed import image_embeddings
    from pcclip.models import load_model

    clip, _pre, tok = load_model(model, device)
    img_ref = image_model if image_model is not None else model
    cache: dict[str, np.ndarray] = {}

    def img(split: str) -> np.ndarray:
        if split not in cache:
            cache[split] = image_embeddings(store, img_ref, dataset, split, device=device, progress=progress)
        return cache[split]

    def txt(texts: list[str]) -> np.ndarray:
        return encode_texts(clip, tok, texts, device=device, batch_size=cfg.batch_size)

    rows: list[ResultRow] = []
    if cfg.difference:
        progress(0, None, "difference tasks")
        tasks = {s: diff_tasks_for(dataset, s, cfg.n_pairs) for s in cfg.seeds}
        rows += evaluate_difference(tasks, img, txt)
        write_results(store, run_id, rows, job_id)

    names = dataset.classnames
    if names and cfg.zeroshot_split in dataset.splits():
        rows2 = _classification(clip, tok, dataset, names, cfg, img, txt, device, progress)
        write_results(store, run_id, rows2, job_id)
    progress(1, 1, "evaluation done")


def _classification(clip: Any, tok: Any, dataset: Dataset, names: list[str], cfg: EvalConfig, img: Any, txt: Any,
                    device: str, progress: Progress) -> list[ResultRow]:
    k = len(names)
    chance = 1.0 / k
    test_img, test_y = img(cfg.zeroshot_split), _labels(dataset, cfg.zeroshot_split)
    rows: list[ResultRow] = []
    progress(0, None, "zero-shot")
    single = zs.class_weights(clip, tok, names, [cfg.zeroshot_template], device)
    if cfg.zeroshot:
        acc, n = zs.accuracy(test_img, test_y, single)
        rows.append(ResultRow(f"zeroshot/{dataset.name}", 0, "accuracy", acc, chance, n))
    if cfg.ensemble:
        ens = zs.class_weights(clip, tok, names, cfg.ensemble_templates, device)
        acc, n = zs.accuracy(test_img, test_y, ens)
        rows.append(ResultRow(f"zeroshot-ensemble/{dataset.name}", 0, "accuracy", acc, chance, n))
    if cfg.comparative and cfg.comparative_split in dataset.splits() and cfg.comparative_split != cfg.zeroshot_split:
        train_y = _labels(dataset, cfg.comparative_split)
        if (train_y >= 0).any():
            progress(0, None, "comparative prompting")
            pairs = comp.confused_pairs(img(cfg.comparative_split), train_y, single, cfg.comparative_pairs)
            if pairs:
                sent = txt(comp.pair_sentences(names, pairs, cfg.pair_template))
                moved = comp.adjust(single, pairs, sent, cfg.comparative_alpha)
                acc, n = zs.accuracy(test_img, test_y, moved)
                rows.append(ResultRow(f"comparative/{dataset.name}", 0, "accuracy", acc, chance, n))
    if cfg.geometry and k >= 2:
        progress(0, None, "geometry")
        pairs = geo.sample_pairs(k, cfg.geometry_max_pairs, seed=0)
        fwd = txt([cfg.pair_template.format(a=names[a], b=names[b]) for a, b in pairs])
        rev = txt([cfg.pair_template.format(a=names[b], b=names[a]) for a, b in pairs])
        f, r = geo.distances(single, pairs, fwd, rev)
        rows.append(ResultRow(f"geometry/{dataset.name}", 0, "distance_forward", f, 1.0, len(pairs)))
        rows.append(ResultRow(f"geometry/{dataset.name}", 0, "distance_reversed", r, 1.0, len(pairs)))
    return rows
