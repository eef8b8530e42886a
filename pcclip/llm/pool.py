"""Comparison pools in the store: the `llm`, `pool` and `comparison` rows, and reading them back.

A pool is one dataset split's fixed pair order written by one generator. Its key hashes the dataset fingerprint,
the split, the generator's text key (backend, model, prompt, sampling, filter), the model file's sha256 and the
pair seed; the number of pairs is NOT in the key, so asking for more later extends the same pool.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import select

from pcclip.data.base import Dataset
from pcclip.errors import PcclipError
from pcclip.hashing import canonical_json, stable_hash
from pcclip.llm.config import LlmConfig
from pcclip.store.engine import Store
from pcclip.store.tables import Comparison, Llm, Pool, utcnow


def llm_key(cfg: LlmConfig, file_sha256: str | None) -> str:
    return stable_hash({"text": cfg.key(), "file_sha256": file_sha256})


def pool_key(dataset_fingerprint: str, split: str, cfg: LlmConfig, file_sha256: str | None, seed: int) -> str:
    return stable_hash(
        {
            "dataset": dataset_fingerprint,
            "split": split,
            "llm": llm_key(cfg, file_sha256),
            "prompt_id": cfg.prompt_id,
            "sampling": cfg.sampling().as_dict(),
            "seed": seed,
        }
    )


def dataset_row_id(store: Store, dataset: Dataset) -> int:
    """The `dataset` row of `dataset` (matched by fingerprint), created if the dataset was never registered."""
    from pcclip.data.testbed import register_dataset  # the one registration rule, shared with the testbed

    return register_dataset(store, dataset)


def get_or_create_llm(store: Store, cfg: LlmConfig, model_id: str, file_sha256: str | None) -> int:
    key = llm_key(cfg, file_sha256)
    with store.session() as s:
        row = s.exec(select(Llm).where(Llm.key == key)).first()
        if row is None:
            params = cfg.text_config()
            params.pop("backend")
            params.pop("model")
            row = Llm(
                name=cfg.name,
                backend=cfg.backend,
                model_id=model_id,
                file_sha256=file_sha256,
                params_json=canonical_json(params),
                key=key,
            )
            s.add(row)
            s.flush()
        return int(row.id)


def get_or_create_pool(
    store: Store, *, key: str, dataset_id: int, llm_id: int, split: str, prompt_id: str, seed: int, n_target: int
) -> int:
    """The pool row for `key`; its n_target only ever grows."""
    with store.session() as s:
        row = s.exec(select(Pool).where(Pool.key == key)).first()
        if row is None:
            row = Pool(
                key=key, dataset_id=dataset_id, llm_id=llm_id, split=split, prompt_id=prompt_id, seed=seed,
                n_target=n_target,
            )
            s.add(row)
            s.flush()
        elif n_target > row.n_target:
            row.n_target = n_target
            s.add(row)
        return int(row.id)


def existing_indices(store: Store, pool_id: int) -> set[int]:
    with store.session() as s:
        return set(s.exec(select(Comparison.idx).where(Comparison.pool_id == pool_id)).all())


def insert_rows(store: Store, rows: Sequence[dict[str, Any]]) -> int:
    """Insert one batch in one transaction; rows already present (same pool and idx) are left as they are."""
    if not rows:
        return 0
    now = utcnow()
    with store.session() as s:
        before = s.exec(select(func.count()).select_from(Comparison)).one()
        s.execute(insert(Comparison).prefix_with("OR IGNORE"), [{**r, "created_at": now} for r in rows])
        after = s.exec(select(func.count()).select_from(Comparison)).one()
    return int(after - before)


def pool_counts(store: Store, pool_id: int) -> dict[str, Any]:
    """Rows, accepted, and rejections by reason, for one pool."""
    with store.session() as s:
        res = s.exec(
            select(Comparison.accepted, Comparison.reject_reason, func.count())
            .where(Comparison.pool_id == pool_id)
            .group_by(Comparison.accepted, Comparison.reject_reason)
        ).all()
    reasons: Counter[str] = Counter()
    accepted = total = 0
    for acc, reason, n in res:
        total += n
        if acc:
            accepted += n
        else:
            reasons[reason or "?"] += n
    return {"rows": total, "accepted": accepted, "rejected": total - accepted, "reasons": dict(reasons)}


def accepted_comparisons(store: Store, pool_id: int, n: int, *, strict: bool = True) -> list[Comparison]:
    """The first `n` accepted comparisons of the pool, in its fixed pair order (so smaller N arms nest in larger);
    n = -1: all of them.

    With `strict`, fewer than `n` accepted rows is an error (an arm labelled N must train on N comparisons).
    """
    if n < -1:
        raise PcclipError(f"n must be >= 0, got {n}")
    with store.session() as s:
        if s.get(Pool, pool_id) is None:
            raise PcclipError(f"no comparison pool with id {pool_id}; list pools with `pcclip comparisons`")
        query = (
            select(Comparison)
            .where(Comparison.pool_id == pool_id, Comparison.accepted == True)  # noqa: E712
            .order_by(Comparison.idx)
        )
        rows = list(s.exec(query if n == -1 else query.limit(n)).all())
    if strict and len(rows) < n:
        raise PcclipError(
            f"pool {pool_id} has {len(rows)} accepted comparisons, {n} asked; generate more pairs for it "
            "(generate_pool with a larger n_pairs or min_accepted)"
        )
    return rows


def pool_provenance(store: Store, pool_id: int) -> dict[str, Any]:
    """Where a pool's sentences came from: backend, model, file sha256, prompt, sampling, seed."""
    with store.session() as s:
        pool = s.get(Pool, pool_id)
        if pool is None:
            raise PcclipError(f"no comparison pool with id {pool_id}")
        llm = s.get(Llm, pool.llm_id)
    assert llm is not None
    return {
        "pool_id": pool.id,
        "llm": llm.name,
        "backend": llm.backend,
        "model_id": llm.model_id,
        "file_sha256": llm.file_sha256,
        "params": json.loads(llm.params_json),
        "prompt_id": pool.prompt_id,
        "split": pool.split,
        "seed": pool.seed,
        "n_target": pool.n_target,
    }
