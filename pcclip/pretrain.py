"""Pretraining the testbed's base CLIP from scratch with the standard CLIP loss, once per machine.

The checkpoint is cached in `cache_dir()/base_models/<key>/` where key = hash(testbed config, pretrain config), with
a sidecar JSON (architecture, image size) and the loss history; the per-step loss also goes to the store's `metric`
table under a `Run` with arm="pretrain", variant="pretrain:<key>".

Images are fed straight from the testbed's uint8 array with the model's own normalisation (identical to open_clip's
preprocess when the image size equals the model's). No image augmentation: flips or crops would change the
attributes (position, size) the captions state. Variety comes from the captions: each step draws a fresh wording.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pcclip.data.testbed_world import caption
from pcclip.errors import PcclipError
from pcclip.hashing import stable_hash
from pcclip.models import SIDECAR_SUFFIX, TESTBED_ARCH, ModelRef, register_model_configs, save_checkpoint
from pcclip.paths import cache_dir
from pcclip.progress import Progress, no_progress

if TYPE_CHECKING:
    import torch

    from pcclip.data.testbed import TestbedDataset
    from pcclip.store import Store

PRETRAIN_VERSION = 1
CHECKPOINT_NAME = "open_clip_model.pt"
RESUME_NAME = "pretrain-resume.pt"  # next to the checkpoint while training; removed when it is written


class PretrainConfig(BaseModel):
    """How the base model is trained. `threads` does not enter the cache key (it changes speed, not the recipe)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    arch: str = TESTBED_ARCH
    steps: int = Field(500, ge=1)
    batch_size: int = Field(64, ge=2)
    lr: float = Field(5e-4, gt=0)  # 1e-3 and 2e-3 collapsed (loss stuck at log(batch)) in trials
    weight_decay: float = Field(0.1, ge=0)
    warmup: int = Field(50, ge=0)
    seed: int = 0
    caption_variety: bool = True
    caption_dropout: float = Field(0.5, ge=0, lt=1, description="chance to leave out each non-class attribute")
    threads: int | None = Field(
        None, ge=1, description="torch CPU threads (not part of the cache key); default: the runner worker's share "
        "of the cores (PCCLIP_CPU_THREADS), else 2",
    )

    def thread_count(self) -> int:
        # Two threads next to a busy llama.cpp worker would oversubscribe 2 cores: a runner worker takes its share.
        return self.threads or int(os.environ.get("PCCLIP_CPU_THREADS") or 2)

    checkpoint_every: int = Field(50, ge=1, description="steps between resume points (not part of the cache key)")

    def key_fields(self) -> dict[str, Any]:
        return self.model_dump(exclude={"threads", "checkpoint_every"})


def _arch_config(arch: str) -> dict[str, Any] | None:
    """The shipped JSON of a pcclip architecture (so editing it invalidates cached base models); None otherwise."""
    from pcclip.models import MODEL_CONFIG_DIR

    path = MODEL_CONFIG_DIR / f"{arch}.json"
    return json.loads(path.read_text()) if path.exists() else None


def pretrain_key(config: PretrainConfig, testbed: TestbedDataset) -> str:
    return stable_hash({"v": PRETRAIN_VERSION, "testbed": testbed.fingerprint, "pretrain": config.key_fields(),
                        "arch_config": _arch_config(config.arch)})


def base_model_path(config: PretrainConfig, testbed: TestbedDataset) -> Path:
    """Where the base model for (testbed, config) is (or will be) cached."""
    return cache_dir() / "base_models" / pretrain_key(config, testbed) / CHECKPOINT_NAME


def images_to_tensor(arr: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """(n, h, w, 3) uint8 -> normalised (n, 3, h, w) float32, exactly as open_clip's ToTensor + Normalize."""
    import torch

    # np.array copies: memmap slices are read-only
    x = torch.from_numpy(np.array(arr)).permute(0, 3, 1, 2).float().div_(255.0)
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    return (x - m) / s


def _check_geometry(model: Any, testbed: TestbedDataset, arch: str) -> None:
    patch = getattr(model.visual, "patch_size", None)  # None for a convolutional (ResNet) image tower
    patch = patch[0] if isinstance(patch, tuple) else patch
    if patch is not None and patch != testbed.cfg.patch_size:
        raise PcclipError(
            f"pretrain: architecture {arch} has patch size {patch} but the testbed config says patch_size "
            f"{testbed.cfg.patch_size}; set the testbed's patch_size to {patch}"
        )


def _lr_at(step: int, cfg: PretrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * t))


def _pretrain_run(store: Store, key: str, config: PretrainConfig, testbed: TestbedDataset) -> int:
    from sqlmodel import select

    from pcclip.store.tables import Run

    variant = f"pretrain:{key}"
    with store.session() as s:
        run = s.exec(select(Run).where(Run.arm == "pretrain", Run.variant == variant)).first()
        if run is None:
            run = Run(
                arm="pretrain",
                variant=variant,
                base_model=config.arch,
                seed=config.seed,
                config_json=json.dumps({"pretrain": config.key_fields(), "testbed": testbed.config()}, sort_keys=True),
            )
            s.add(run)
            s.flush()
            s.refresh(run)
        assert run.id is not None
        return run.id


def _record(store: Store, key: str, config: PretrainConfig, testbed: TestbedDataset, ckpt: Path) -> None:
    """Put the run, its per-step metrics (from the cached history) and the checkpoint artifact into the store."""
    from sqlmodel import func, select

    from pcclip.store.artifacts import register_artifact
    from pcclip.store.tables import Metric, Run

    run_id = _pretrain_run(store, key, config, testbed)
    history = json.loads((ckpt.parent / "history.json").read_text())
    art = register_artifact(store, ckpt, "base_model")
    with store.session() as s:
        n = s.exec(select(func.count()).select_from(Metric).where(Metric.run_id == run_id)).one()
        if n == 0:
            s.add_all(Metric(run_id=run_id, step=r["step"], name=name, value=float(r[name]))
                      for r in history["steps"] for name in ("loss", "lr"))
        run = s.get(Run, run_id)
        if run is not None and run.checkpoint_artifact_id is None:
            run.checkpoint_artifact_id = art.id
            s.add(run)


def pretrain_base(
    config: PretrainConfig,
    testbed: TestbedDataset,
    store: Store | None = None,
    progress: Progress = no_progress,
) -> Path:
    """Train (or find cached) the testbed's base CLIP; returns the checkpoint path (load it with
    `pcclip.models.ModelRef.testbed(path)`)."""
    key = pretrain_key(config, testbed)
    ckpt = base_model_path(config, testbed)
    if not ckpt.exists():
        _train(config, testbed, ckpt, progress)
    else:
        progress(config.steps, config.steps, "base model cached")
    if store is not None:
        _record(store, key, config, testbed, ckpt)
    return ckpt


def _train(config: PretrainConfig, testbed: TestbedDataset, ckpt: Path, progress: Progress) -> None:
    import open_clip
    import torch

    from pcclip.embed import atomic_write_bytes
    from pcclip.train import encode_text

    register_model_configs()
    if config.arch not in open_clip.list_models():
        raise PcclipError(f"pretrain: unknown architecture {config.arch!r}; pcclip ships pcclip-testbed-vit/-tiny")
    prev_threads = torch.get_num_threads()
    torch.set_num_threads(config.thread_count())
    try:
        torch.manual_seed(config.seed)
        model = open_clip.create_model(
            config.arch, pretrained=None, force_image_size=testbed.cfg.image_size
        )
        _check_geometry(model, testbed, config.arch)
        tokenizer = open_clip.get_tokenizer(config.arch)
        mean, std = model.visual.preprocess_cfg["mean"], model.visual.preprocess_cfg["std"]
        model.train()
        loss_fn = open_clip.ClipLoss()
        decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n]
        no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n)]
        opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=config.lr, betas=(0.9, 0.98), eps=1e-6,
        )
        images = testbed.images_array("train")
        records = testbed.records("train")
        canonical = [it.caption or "" for it in testbed.items("train")]
        vary = testbed.cfg.vary
        rng = np.random.default_rng([config.seed, 101])
        n = len(records)
        bs = min(config.batch_size, n)
        order = rng.permutation(n)
        pos, start = 0, 0
        history: list[dict[str, float]] = []
        spent = (0.0, 0.0)  # wall and CPU seconds of earlier attempts
        resume = ckpt.parent / RESUME_NAME
        ident = {"config": config.key_fields(), "testbed": testbed.fingerprint}
        if resume.exists():
            st = torch.load(resume, map_location="cpu", weights_only=False)
            if st.get("ident") == ident:  # a resume point of this exact recipe: continue where it stopped
                model.load_state_dict(st["model"])
                opt.load_state_dict(st["opt"])
                rng.bit_generator.state = st["rng"]
                order, pos, start, history, spent = st["order"], st["pos"], st["step"], st["history"], st["spent"]
                progress(start, config.steps, f"resuming pretraining at step {start}")
        t0, c0 = time.time(), time.process_time()

        def save_resume(step: int) -> None:
            state = {"ident": ident, "model": model.state_dict(), "opt": opt.state_dict(),
                     "rng": rng.bit_generator.state, "order": order, "pos": pos, "step": step, "history": history,
                     "spent": (spent[0] + time.time() - t0, spent[1] + time.process_time() - c0)}
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(resume, lambda fh: torch.save(state, fh))

        for step in range(start, config.steps):
            if pos + bs > n:
                order, pos = rng.permutation(n), 0
            idx = np.sort(order[pos:pos + bs])
            pos += bs
            x = images_to_tensor(images[idx], mean, std)
            if config.caption_variety:
                texts = [caption(records[i], vary, rng, drop=config.caption_dropout) for i in idx]
            else:
                texts = [canonical[i] for i in idx]
            lr = _lr_at(step, config)
            for g in opt.param_groups:
                g["lr"] = lr
            # encode_text cuts the batch to its used context (same result, a fraction of the compute)
            img_f = model.encode_image(x, normalize=True)
            txt_f = encode_text(model, tokenizer(texts), normalize=True)
            loss = loss_fn(img_f, txt_f, model.logit_scale.exp())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():  # CLIP's clamp: keep the temperature in a sane range
                model.logit_scale.clamp_(0, math.log(100))
            history.append({"step": step, "loss": float(loss.item()), "lr": lr})
            if (step + 1) % config.checkpoint_every == 0 and step + 1 < config.steps:
                save_resume(step + 1)
            progress(step + 1, config.steps, f"pretrain loss {loss.item():.3f}")
        wall, cpu = spent[0] + time.time() - t0, spent[1] + time.process_time() - c0
        model.eval()
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        meta = {"arch": config.arch, "image_size": testbed.cfg.image_size}
        hist = {"steps": history, "wall_seconds": wall, "cpu_seconds": cpu, "threads": config.thread_count(),
                "config": config.key_fields(), "testbed": testbed.fingerprint}
        (ckpt.parent / "history.json").write_text(json.dumps(hist))
        side = ckpt.with_name(ckpt.name + SIDECAR_SUFFIX)
        side.write_text(json.dumps(meta))
        save_checkpoint(model, ckpt, config.arch, image_size=testbed.cfg.image_size)  # last: marks completion
        resume.unlink(missing_ok=True)
    finally:
        torch.set_num_threads(prev_threads)


def base_model_ref(path: str | os.PathLike[str]) -> ModelRef:
    """The ModelRef of a checkpoint written by `pretrain_base`."""
    return ModelRef.testbed(path)


def embed_split(model: Any, testbed: TestbedDataset, split: str, batch_size: int = 500) -> np.ndarray:
    """Raw image embeddings of a testbed split straight from its uint8 array (no cache; for quick checks)."""
    import torch

    arr = testbed.images_array(split)
    mean, std = model.visual.preprocess_cfg["mean"], model.visual.preprocess_cfg["std"]
    out = []
    with torch.inference_mode():
        for k in range(0, len(arr), batch_size):
            out.append(model.encode_image(images_to_tensor(arr[k:k + batch_size], mean, std)).float().numpy())
    return np.concatenate(out)


def quick_eval(ckpt: str | os.PathLike[str], testbed: TestbedDataset, seeds: tuple[int, ...] = (0,),
               n_pairs: int = 500) -> dict[str, float]:
    """Zero-shot accuracy (the paper's template) and difference-task accuracies of a testbed model on the test
    split, computed with `pcclip.evaluation`'s functions; nothing is stored (`pcclip eval` stores results)."""
    from pcclip.data.testbed_tasks import build_diff_tasks
    from pcclip.evaluation.common import encode_texts
    from pcclip.evaluation.difference import difference_correct
    from pcclip.evaluation.zeroshot import PAPER_TEMPLATE, accuracy, class_weights
    from pcclip.models import load_model

    model, _pre, tok = load_model(ModelRef.testbed(ckpt))
    img = embed_split(model, testbed, "test")
    labels = np.array([it.label for it in testbed.items("test")])
    out: dict[str, float] = {}
    out["zeroshot"], _ = accuracy(img, labels, class_weights(model, tok, testbed.classnames, [PAPER_TEMPLATE]))
    per_task: dict[str, list[float]] = {}
    for seed in seeds:
        for task in build_diff_tasks(testbed, seed, n_pairs):
            text = encode_texts(model, tok, [p.sentence for p in task.pairs])
            per_task.setdefault(task.name, []).append(float(difference_correct(img, task.pairs, text).mean()))
    for name, accs in per_task.items():
        out[f"diff/{name}"] = float(np.mean(accs))
    if per_task:
        out["diff/mean"] = float(np.mean([np.mean(v) for v in per_task.values()]))
    return out
