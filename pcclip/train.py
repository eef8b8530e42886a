"""PC-CLIP finetuning: align text embeddings of comparisons with renormalised image-embedding differences.

For a batch of comparisons k = (i, j, text): d_k = normalize(normalize(img_i) - normalize(img_j)),
t_k = normalize(text(text_k)); loss = symmetric in-batch cross-entropy over d @ t.T / tau (tau fixed, default 1),
or the MSE variant. Optionally plus `rehearsal_weight` x the standard CLIP loss (open_clip `ClipLoss`, the model's
own frozen logit scale) on the captions of the batch's images, which counters forgetting (docs/method.md).

Image embeddings come from the cache (`pcclip.embed`) unless the image tower trains too ("both"). Training is
resumable: every `checkpoint_every` steps the trainable weights, the optimizer state and the step are written
atomically, and the per-step metrics written so far are committed with them. The batch order of epoch e is a pure
function of (seed, e) and the learning rate of step s a pure function of s, so a resumed run replays exactly what an
uninterrupted one would have done.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pcclip.embed import atomic_write_bytes
from pcclip.errors import PcclipError
from pcclip.progress import Progress, no_progress

if TYPE_CHECKING:
    import torch

    from pcclip.data.base import Dataset
    from pcclip.store.engine import Store

TrainParams = Literal["text_transformer", "text_tower", "both"]


class FinetuneConfig(BaseModel):
    """How to finetune. Start from a profile (`FinetuneConfig.profile("testbed", lr=...)`)."""

    model_config = ConfigDict(extra="forbid")

    train_params: TrainParams = "text_transformer"
    loss: Literal["contrastive", "mse"] = "contrastive"
    temperature: float = Field(1.0, gt=0)
    rehearsal_weight: float = Field(0.0, ge=0)
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    lr_decay: float = Field(0.9, gt=0, le=1)  # multiplied into the lr once per epoch
    epochs: int = Field(20, ge=1)
    batch_size: int = Field(256, ge=2)
    weight_average_alpha: float = Field(1.0, ge=0, le=1)  # final = alpha * finetuned + (1 - alpha) * original
    seed: int = 0
    checkpoint_every: int = Field(50, ge=1)  # steps between resume points

    @classmethod
    def profile(cls, name: str, **overrides: Any) -> FinetuneConfig:
        if name not in PROFILES:
            raise PcclipError(f"unknown finetune profile {name!r}; choose one of {', '.join(PROFILES)}")
        return cls(**{**PROFILES[name], **overrides})


# Documented in docs/method.md (with the sweep that chose the testbed values).
PROFILES: dict[str, dict[str, Any]] = {
    # Chosen by the testbed sweep (docs/method.md, 2026-12-05): oracle-v2 comparisons, N = 6000, tau 0.1 and
    # rehearsal (CLIP loss on the pool's captions, weight 1) lift difference accuracy by ~24 points at no zero-shot
    # cost. tau 0.1 instead of the paper's 1: at tau 1 the same run lifted 6 points (N = 2000: +5.9 vs +10.5).
    "testbed": dict(train_params="text_transformer", loss="contrastive", temperature=0.1, rehearsal_weight=1.0,
                    optimizer="adam", lr=1e-3, lr_decay=0.9, epochs=20, batch_size=128, weight_average_alpha=1.0),
    # The public code's settings for ViT-L-14 (DataComp-XL), except lr: 1e-8 with Adam moves each weight by at most
    # ~1e-8 per step (~4e-7 over a 40-step N=1000 run), which leaves the model practically unchanged; 1e-6 is the
    # usual order for CLIP text-encoder finetuning with Adam.
    "paper": dict(train_params="text_transformer", loss="contrastive", temperature=1.0, rehearsal_weight=0.0,
                  optimizer="adam", lr=1e-6, lr_decay=0.9, epochs=20, batch_size=512, weight_average_alpha=1.0),
}


# ----------------------------------------------------------------------------------------------------------- losses
def pcclip_loss(img_i: torch.Tensor, img_j: torch.Tensor, text: torch.Tensor, kind: str = "contrastive",
                temperature: float = 1.0) -> torch.Tensor:
    """PC-CLIP loss for a batch of raw image embeddings (B x D each) and raw comparison text embeddings (B x D)."""
    import torch
    import torch.nn.functional as F

    diff = F.normalize(img_i, dim=-1) - F.normalize(img_j, dim=-1)
    t = F.normalize(text, dim=-1)
    if kind == "mse":
        # The un-renormalised difference, as the paper's MSE variant; squared distance summed over dims.
        return ((t - diff) ** 2).sum(dim=-1).mean()
    d = F.normalize(diff, dim=-1)
    logits = d @ t.T / temperature
    labels = torch.arange(len(d), device=d.device)
    return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


# ----------------------------------------------------------------------------------------------- text encoding
def encode_text(model: Any, tokens: torch.Tensor, normalize: bool = False) -> torch.Tensor:
    """`model.encode_text`, but for open_clip's CLIP with a causal mask only over the batch's used positions.

    With a causal mask and end-of-text pooling, positions after the longest text's end token cannot affect any
    output, so cutting them gives the same embeddings for a fraction of the compute (comparisons and captions fill
    about half of the 77-token context of the paper's models). Other models go through `encode_text` unchanged.
    """
    import torch
    import torch.nn.functional as F
    from open_clip.model import CLIP, text_global_pool

    if not (type(model) is CLIP and model.attn_mask is not None and model.text_pool_type == "argmax"):
        return model.encode_text(tokens, normalize=normalize)
    length = int(tokens.argmax(dim=-1).max()) + 1  # the end token has the largest id; pooling takes it too
    tokens = tokens[:, :length]
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast) + model.positional_embedding[:length].to(cast)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = text_global_pool(model.ln_final(x), tokens, model.text_pool_type,
                         eos_token_id=getattr(model, "text_eos_id", None))
    proj = model.text_projection
    if proj is not None:
        x = proj(x) if isinstance(proj, torch.nn.Linear) else x @ proj
    return F.normalize(x, dim=-1) if normalize else x


# ------------------------------------------------------------------------------------------------ parameter choice
def trainable_names(model: Any, which: TrainParams) -> list[str]:
    """Parameter names that train. The logit scale (and bias) never train: the PC loss uses a fixed temperature."""
    names = [n for n, _ in model.named_parameters()]
    frozen = {"logit_scale", "logit_bias"}
    if which == "text_transformer":
        chosen = [n for n in names if n.startswith(("transformer.", "text.transformer."))]
    elif which == "text_tower":
        chosen = [n for n in names if not n.startswith("visual.") and n not in frozen]
    elif which == "both":
        chosen = [n for n in names if n not in frozen]
    else:
        raise PcclipError(f"unknown train_params {which!r}")
    if not chosen:
        raise PcclipError(f"{type(model).__name__}: no parameters match train_params={which!r}")
    return chosen


def _optimizer(cfg: FinetuneConfig, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    import torch

    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)


# ---------------------------------------------------------------------------------------------------- the loop
class _Batches:
    """The fixed schedule: epoch e's permutation depends only on (seed, e)."""

    def __init__(self, n: int, cfg: FinetuneConfig) -> None:
        self.n, self.cfg = n, cfg
        self.per_epoch = math.ceil(n / cfg.batch_size)
        self.total = self.per_epoch * cfg.epochs

    def batch(self, step: int) -> tuple[int, np.ndarray]:
        epoch, b = divmod(step, self.per_epoch)
        perm = np.random.default_rng([self.cfg.seed, epoch]).permutation(self.n)
        return epoch, perm[b * self.cfg.batch_size : (b + 1) * self.cfg.batch_size]


def train_loop(
    model: Any,
    tokenizer: Any,
    image_emb: np.ndarray,
    comparisons: Sequence[tuple[int, int, str]],
    cfg: FinetuneConfig,
    *,
    captions: Sequence[str] | None = None,
    pixels: torch.Tensor | None = None,
    state_path: Path | None = None,
    on_checkpoint: Any = None,
    device: str = "cpu",
    progress: Progress = no_progress,
) -> list[tuple[int, str, float]]:
    """Finetune `model` in place. Returns the metric rows (step, name, value) of the steps run by this call.

    `image_emb` holds raw embeddings of the split (rows indexed by item); `captions` the split's captions (needed
    when rehearsal_weight > 0); `pixels` the split's preprocessed images (needed when the image tower trains).
    With `state_path`, resume from it when present and save it every `checkpoint_every` steps; `on_checkpoint(rows)`
    is called with the metric rows since the last checkpoint just before each save (so they are stored first).
    """
    import torch
    from open_clip.loss import ClipLoss

    torch.manual_seed(cfg.seed)
    if cfg.rehearsal_weight > 0 and captions is None:
        raise PcclipError("rehearsal_weight > 0 needs the pool's captions; this dataset split has none")
    if cfg.train_params == "both" and pixels is None:
        raise PcclipError("train_params='both' needs the split's images (pixels)")
    names = set(trainable_names(model, cfg.train_params))
    params = []
    for n, p in model.named_parameters():
        p.requires_grad_(n in names)
        if n in names:
            params.append(p)
    opt = _optimizer(cfg, params)
    sched = _Batches(len(comparisons), cfg)
    start = 0
    if state_path is not None and state_path.exists():
        st = torch.load(state_path, map_location=device, weights_only=False)
        model.load_state_dict(st["trainable"], strict=False)
        opt.load_state_dict(st["optimizer"])
        start = int(st["step"])

    emb = torch.from_numpy(np.array(image_emb, dtype=np.float32)).to(device)  # a writable copy of the mmap
    ii = torch.tensor([c[0] for c in comparisons], dtype=torch.long)
    jj = torch.tensor([c[1] for c in comparisons], dtype=torch.long)
    cmp_tokens = tokenizer([c[2] for c in comparisons])
    cap_tokens = tokenizer(list(captions)) if cfg.rehearsal_weight > 0 else None
    clip_loss = ClipLoss()
    rows: list[tuple[int, str, float]] = []
    pending: list[tuple[int, str, float]] = []

    def save(step: int) -> None:
        if state_path is None:
            return
        if on_checkpoint is not None:
            on_checkpoint(pending)
        pending.clear()
        trainable = {k: v.detach().cpu() for k, v in model.state_dict().items() if k in names}
        state = {"trainable": trainable, "optimizer": opt.state_dict(), "step": step}
        atomic_write_bytes(state_path, lambda fh: torch.save(state, fh))

    model.train()
    for step in range(start, sched.total):
        epoch, idx = sched.batch(step)
        lr = cfg.lr * cfg.lr_decay**epoch
        for g in opt.param_groups:
            g["lr"] = lr
        bi, bj = ii[idx], jj[idx]
        used = torch.unique(torch.cat([bi, bj]))
        if pixels is not None:
            feats = model.encode_image(pixels[used].to(device))
            lookup = {int(u): k for k, u in enumerate(used)}
            fi = feats[[lookup[int(x)] for x in bi]]
            fj = feats[[lookup[int(x)] for x in bj]]
            img_used = feats
        else:
            fi, fj, img_used = emb[bi], emb[bj], emb[used]
        text = encode_text(model, cmp_tokens[idx].to(device))
        loss_pc = pcclip_loss(fi, fj, text, cfg.loss, cfg.temperature)
        loss = loss_pc
        step_rows = [(step, "loss_pc", loss_pc.item())]
        if cap_tokens is not None:
            # Rehearse on the first images of the batch's pairs: B captions, so rehearsal at most doubles a step.
            firsts = torch.unique(bi)
            rows_first = torch.searchsorted(used, firsts)
            cap = encode_text(model, cap_tokens[firsts].to(device), normalize=True)
            loss_clip = clip_loss(torch.nn.functional.normalize(img_used[rows_first], dim=-1), cap,
                                  model.logit_scale.exp().detach())
            loss = loss + cfg.rehearsal_weight * loss_clip
            step_rows.append((step, "loss_clip", loss_clip.item()))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step_rows += [(step, "loss", loss.item()), (step, "lr", lr)]
        rows += step_rows
        pending.extend(step_rows)
        progress(step + 1, sched.total, f"epoch {epoch + 1}/{cfg.epochs} loss {loss.item():.4f}")
        if (step + 1) % cfg.checkpoint_every == 0 and step + 1 < sched.total:
            save(step + 1)
    save(sched.total)
    model.eval()
    return rows


# --------------------------------------------------------------------------------------------------- the step
def _write_metrics(store: Store, run_id: int, rows: Sequence[tuple[int, str, float]], from_step: int | None = None
                   ) -> None:
    from sqlmodel import delete

    from pcclip.store.tables import Metric

    with store.session() as s:
        if from_step is not None:  # a resumed run replays steps >= from_step: drop what an earlier try wrote
            s.exec(delete(Metric).where(Metric.run_id == run_id, Metric.step >= from_step))
        s.add_all([Metric(run_id=run_id, step=st, name=n, value=v) for st, n, v in rows])


def finetune(
    store: Store,
    model_ref: Any,
    dataset: Dataset,
    comparisons: Sequence[tuple[int, int, str]],
    cfg: FinetuneConfig,
    run_id: int,
    out_dir: str | Path,
    device: str = "cpu",
    progress: Progress = no_progress,
    resume: bool = True,
    *,
    split: str = "pool",
    job_id: int | None = None,
) -> Path:
    """Finetune `model_ref` on `comparisons` ((item_i, item_j, text) over `split` of `dataset`); returns the
    checkpoint path (`out_dir/checkpoint.pt`: {"arch", "state_dict"}, as `pcclip.models` loads it), registered as
    an artifact and set as the run's checkpoint. Per-step metrics (loss, loss_pc, loss_clip, lr) go to the `metric`
    table under `run_id`.
    """
    import torch

    from pcclip.embed import image_embeddings
    from pcclip.models import average_weights, load_model
    from pcclip.store.artifacts import register_artifact

    out = Path(out_dir)
    final = out / "checkpoint.pt"
    state_path = out / "resume.pt"
    if final.exists() and resume:
        _finish(store, run_id, register_artifact(store, final, "checkpoint", job_id=job_id).id)
        return final
    if not resume and state_path.exists():
        state_path.unlink()
    if not comparisons:
        raise PcclipError("finetune: no comparisons given; N = 0 is the base model, evaluate it directly")

    emb = image_embeddings(store, model_ref, dataset, split, device=device, progress=progress)
    bad = np.isnan(np.asarray(emb[:, 0]))
    comps = [c for c in comparisons if not (bad[c[0]] or bad[c[1]])]
    if len(comps) < len(comparisons):
        progress(0, None, f"dropped {len(comparisons) - len(comps)} comparisons touching unreadable images")
    items = dataset.items(split)
    captions = [it.caption or "" for it in items] if cfg.rehearsal_weight > 0 else None
    if captions is not None and not any(captions):
        raise PcclipError(f"{dataset.name}/{split}: no captions, so rehearsal is impossible; set rehearsal_weight=0")

    model, preprocess, tokenizer = load_model(model_ref, device)
    pixels = None
    if cfg.train_params == "both":
        pixels = torch.stack([preprocess(dataset.load_image(split, i).convert("RGB")) for i in range(len(items))])
    original = None
    if cfg.weight_average_alpha < 1:
        original = {k: v.detach().clone() for k, v in model.state_dict().items()}
    start = 0
    if state_path.exists():
        start = int(torch.load(state_path, map_location="cpu", weights_only=False)["step"])
    first = [True]

    def on_checkpoint(rows: list[tuple[int, str, float]]) -> None:
        _write_metrics(store, run_id, rows, from_step=start if first[0] else None)
        first[0] = False

    train_loop(model, tokenizer, emb, comps, cfg, captions=captions, pixels=pixels, state_path=state_path,
               on_checkpoint=on_checkpoint, device=device, progress=progress)
    sd = model.state_dict()
    if original is not None:
        sd = average_weights(sd, original, cfg.weight_average_alpha)
    payload = {"arch": getattr(model_ref, "name", None), "state_dict": {k: v.detach().cpu() for k, v in sd.items()}}
    atomic_write_bytes(final, lambda fh: torch.save(payload, fh))
    art = register_artifact(store, final, "checkpoint", job_id=job_id)
    state_path.unlink(missing_ok=True)
    _finish(store, run_id, art.id)
    return final


def _finish(store: Store, run_id: int, artifact_id: int | None) -> None:
    from pcclip.store.tables import Run

    with store.session() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise PcclipError(f"run {run_id}: no such run; create the Run row before finetuning")
        run.checkpoint_artifact_id = artifact_id
        s.add(run)
