"""Pieces every evaluation shares: text encoding, normalisation, and writing `result` rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pcclip.store.engine import Store


@dataclass(frozen=True)
class ResultRow:
    task: str
    seed: int
    metric: str
    value: float
    chance: float | None
    n_examples: int


def normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def encode_texts(model: Any, tokenizer: Any, texts: Sequence[str], device: str = "cpu", batch_size: int = 256
                 ) -> np.ndarray:
    """L2-normalised text embeddings (len(texts) x D), in order; identical texts are encoded once."""
    import torch

    from pcclip.train import encode_text

    uniq = list(dict.fromkeys(texts))
    out: list[np.ndarray] = []
    model.eval()
    with torch.inference_mode():
        for k in range(0, len(uniq), batch_size):
            toks = tokenizer(uniq[k : k + batch_size]).to(device)
            out.append(encode_text(model, toks, normalize=True).float().cpu().numpy())
    if not out:
        return np.zeros((0, 0), dtype=np.float32)
    table = np.concatenate(out)
    where = {t: i for i, t in enumerate(uniq)}
    return table[[where[t] for t in texts]]


def write_results(store: Store, run_id: int, rows: Sequence[ResultRow], job_id: int | None = None) -> None:
    """Insert rows, replacing any earlier value for the same (run, task, seed, metric): re-evaluating is idempotent."""
    from sqlmodel import delete

    from pcclip.store.tables import Result

    with store.session() as s:
        for r in rows:
            s.exec(delete(Result).where(Result.run_id == run_id, Result.task == r.task, Result.seed == r.seed,
                                        Result.metric == r.metric))
        s.add_all([Result(run_id=run_id, job_id=job_id, task=r.task, seed=r.seed, metric=r.metric,
                          value=float(r.value), chance=r.chance, n_examples=r.n_examples) for r in rows])
