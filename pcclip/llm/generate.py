"""`generate_pool`: write (or extend, or resume) one comparison pool, batch by batch, one commit per batch.

Resume: rows are keyed by (pool_id, idx) in the fixed pair order, so a killed run leaves a prefix-with-holes of
committed batches; the next run generates exactly the missing indices and inserts with OR IGNORE (a second
process racing on the same pool cannot duplicate rows either).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from pcclip.data.base import Dataset, Item
from pcclip.errors import PcclipError
from pcclip.llm.base import Generation
from pcclip.llm.config import LlmConfig
from pcclip.llm.filter import filter_output
from pcclip.llm.pairs import max_pairs, sample_pairs
from pcclip.llm.pool import (
    dataset_row_id,
    existing_indices,
    get_or_create_llm,
    get_or_create_pool,
    insert_rows,
    pool_counts,
    pool_key,
)
from pcclip.llm.prompts import render_prompt
from pcclip.progress import Progress, no_progress
from pcclip.store.engine import Store


def model_identity(cfg: LlmConfig) -> tuple[str, str | None]:
    """(model id as recorded, weights sha256 or None), found WITHOUT loading the model, so a finished pool is
    recognised without paying for a model load."""
    if cfg.backend == "llama_cpp":
        from pcclip.llm.local_models import cached_file_sha256, check_gguf
        from pcclip.llm.registry import resolve_gguf

        path = resolve_gguf(cfg)
        check_gguf(path)  # missing or corrupt: a one-line error naming the path, before any row is written
        model_id = f"hf://{cfg.model}/{cfg.model_file}" if cfg.model_file else str(path)
        return model_id, cached_file_sha256(path)
    if cfg.backend == "t5":
        folder = Path(cfg.model).expanduser()
        for name in ("model.safetensors", "pytorch_model.bin"):
            if (folder / name).is_file():
                from pcclip.llm.local_models import cached_file_sha256

                return cfg.model, cached_file_sha256(folder / name)
        return cfg.model, None
    return cfg.resolved_model, None


def _check_items(items: Sequence[Item], split: str, needs_records: bool, dataset: Dataset) -> None:
    if len(items) < 2:
        raise PcclipError(f"split {split!r} of {dataset.name} has {len(items)} images; a pool needs at least 2")
    if needs_records:
        missing = [it.index for it in items if not it.attributes]
        if missing:
            raise PcclipError(
                f"the template (oracle) backend needs attribute records, but {len(missing)} of {len(items)} items "
                f"of {dataset.name}/{split} have none (first: {missing[0]}); use an LLM backend"
            )
    else:
        missing = [it.index for it in items if not (it.caption or "").strip()]
        if missing:
            raise PcclipError(
                f"{len(missing)} of {len(items)} items of {dataset.name}/{split} have no caption (first: "
                f"{missing[0]}); LLM comparisons are written from captions: use a captioned split"
            )


def _rows(
    pool_id: int,
    cfg: LlmConfig,
    idxs: Sequence[int],
    pairs: Sequence[tuple[int, int]],
    items: Sequence[Item],
    gens: Sequence[Generation],
) -> list[dict]:
    rows = []
    for k, gen in zip(idxs, gens):
        i, j = pairs[k]
        raw = gen.text if isinstance(gen.text, str) else ""
        if gen.finish_reason == "error" and not raw.strip():
            text, accepted, reason = "", False, "error: " + str(gen.extra.get("error", "generation failed"))[:200]
        else:
            res = filter_output(raw, cfg.filter)
            text, accepted, reason = res.text, res.accepted, res.reason
        rows.append(
            {
                "pool_id": pool_id,
                "idx": k,
                "item_i": items[i].index,
                "item_j": items[j].index,
                "caption_i": items[i].caption or "",
                "caption_j": items[j].caption or "",
                "prompt_id": cfg.prompt_id,
                "raw_text": raw,
                "text": text,
                "accepted": accepted,
                "reject_reason": reason,
                "tokens": int(gen.tokens or 0),
                "seconds": float(gen.seconds or 0.0),
            }
        )
    return rows


def generate_pool(
    store: Store,
    dataset: Dataset,
    split: str,
    cfg: LlmConfig,
    n_pairs: int,
    seed: int = 0,
    progress: Progress = no_progress,
    batch_size: int = 32,
    *,
    min_accepted: int | None = None,
    max_pairs_cap: int | None = None,
) -> int:
    """Make sure the pool (dataset split x generator x pair seed) covers the first `n_pairs` pairs; return its id.

    Reuses every stored row, generates only the missing ones (resume, or extension to a larger n), commits once
    per batch. With `min_accepted`, keeps extending the pair order until that many comparisons were accepted (or
    `max_pairs_cap` / all distinct pairs are used): N-arms need N accepted comparisons, not N pairs.
    Junk or empty output is stored as rejected with a reason; it never stops the job.
    """
    if n_pairs < 0:
        raise PcclipError(f"n_pairs must be >= 0, got {n_pairs}")
    if batch_size < 1:
        raise PcclipError(f"batch_size must be >= 1, got {batch_size}")
    if split not in dataset.splits():
        raise PcclipError(f"{dataset.name} has no split {split!r}; it has: {', '.join(dataset.splits())}")
    items = list(dataset.items(split))
    needs_records = cfg.backend == "template"
    _check_items(items, split, needs_records, dataset)  # before any model is loaded or any row written
    limit = max_pairs(len(items))
    if n_pairs > limit:
        raise PcclipError(f"{n_pairs} pairs asked, but the {len(items)} images of {split!r} give only {limit}")
    cap = min(limit, max_pairs_cap or limit)

    model_id, sha = model_identity(cfg)
    if cfg.backend == "openai":
        from pcclip.llm.openai_backend import api_key

        api_key(cfg.base_url, cfg.api_key_env)  # a missing key fails here, before any row is written
    params = cfg.sampling()
    key = pool_key(dataset.fingerprint, split, cfg, sha, seed)
    dataset_id = dataset_row_id(store, dataset)
    llm_id = get_or_create_llm(store, cfg, model_id, sha)
    pool_id = get_or_create_pool(
        store, key=key, dataset_id=dataset_id, llm_id=llm_id, split=split, prompt_id=cfg.prompt_id, seed=seed,
        n_target=n_pairs,
    )

    backend = None
    target = n_pairs
    t_start = time.perf_counter()
    made = 0
    try:
        while True:
            pairs = sample_pairs(len(items), target, seed)
            have = existing_indices(store, pool_id)
            todo = [k for k in range(target) if k not in have]
            counts = pool_counts(store, pool_id)
            done = target - len(todo)
            for start in range(0, len(todo), batch_size):
                idxs = todo[start : start + batch_size]
                if backend is None:
                    from pcclip.llm.registry import make_backend

                    progress(done, target, f"loading {cfg.name}")
                    backend = make_backend(cfg)
                if getattr(backend, "needs_items", False):
                    gens = backend.generate_items([(items[pairs[k][0]], items[pairs[k][1]]) for k in idxs], params)
                else:
                    prompts = [
                        render_prompt(cfg.prompt_id, items[pairs[k][0]].caption or "", items[pairs[k][1]].caption or "")
                        for k in idxs
                    ]
                    gens = backend.generate(prompts, params)
                if len(gens) != len(idxs):
                    raise PcclipError(f"backend {cfg.backend} returned {len(gens)} outputs for {len(idxs)} prompts")
                rows = _rows(pool_id, cfg, idxs, pairs, items, gens)
                insert_rows(store, rows)
                made += len(rows)
                done += len(rows)
                counts["rows"] += len(rows)
                counts["accepted"] += sum(r["accepted"] for r in rows)
                rate = made / max(time.perf_counter() - t_start, 1e-9)
                acc = counts["accepted"] / max(counts["rows"], 1)
                progress(done, target, f"{rate:.2f} comparisons/s, {acc:.0%} accepted")
            if min_accepted is None:
                break
            counts = pool_counts(store, pool_id)
            if counts["accepted"] >= min_accepted or target >= cap:
                break
            # Extend the fixed order by what the acceptance rate so far suggests (at least one batch).
            rate = counts["accepted"] / max(counts["rows"], 1)
            need = (min_accepted - counts["accepted"]) / max(rate, 0.05)
            target = min(cap, target + max(batch_size, int(need * 1.1) + 1))
            get_or_create_pool(
                store, key=key, dataset_id=dataset_id, llm_id=llm_id, split=split, prompt_id=cfg.prompt_id,
                seed=seed, n_target=target,
            )
    finally:
        if backend is not None:
            backend.close()
    final = pool_counts(store, pool_id)
    progress(target, target, f"{final['accepted']}/{final['rows']} accepted")
    return pool_id
