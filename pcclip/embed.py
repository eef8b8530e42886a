"""The image-embedding cache: each (model, dataset, split, preprocessing) is embedded once.

The frozen image encoder is the expensive part of every step (finetuning only trains the text side by default),
so its outputs are stored as one float32 `.npy` per key under the database's work folder, registered as an
artifact with its sha256, and memory-mapped on reuse.

Key: model fingerprint (architecture + weights; the preprocessing follows from them), dataset fingerprint, split,
and EMBED_VERSION. Rows are raw (unnormalised) `encode_image` outputs in the split's item order.

Unreadable images (policy, see docs/method.md): an image that fails to open or decode becomes a row of NaN, its
index and error go to a `.bad.json` file beside the array, and consumers drop the pairs/items that touch it. If more
than `max_bad_fraction` of the split fails, nothing is cached and a PcclipError names the first bad file: that is a
broken dataset root, not a few damaged files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pcclip.errors import PcclipError
from pcclip.hashing import stable_hash
from pcclip.paths import workdir
from pcclip.progress import Progress, no_progress

if TYPE_CHECKING:
    from pcclip.data.base import Dataset
    from pcclip.store.engine import Store

EMBED_VERSION = 1
MAX_BAD_FRACTION = 0.05


def embedding_key(model_fp: str, dataset: Dataset, split: str) -> str:
    return stable_hash({"v": EMBED_VERSION, "model": model_fp, "dataset": dataset.fingerprint, "split": split})


def _cache_path(store: Store, key: str) -> Path:
    return workdir(store.path) / "embeddings" / f"{key}.npy"


def bad_items(path: str | Path) -> list[dict[str, Any]]:
    """The unreadable images recorded beside an embedding array ([] when all were fine)."""
    side = Path(path).with_suffix(".bad.json")
    return json.loads(side.read_text()) if side.exists() else []


def atomic_write_bytes(path: Path, write: Callable[[Any], None]) -> None:
    """Write through a temporary file in the same folder, fsync it, then rename: readers see all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def encode_images(
    model: Any,
    preprocess: Callable[[Any], Any],
    dataset: Dataset,
    split: str,
    indices: Sequence[int] | None = None,
    device: str = "cpu",
    batch_size: int = 256,
    progress: Progress = no_progress,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Embed a split's images with `model.encode_image` (no cache). Returns (array, bad items).

    Decoding and preprocessing of the next batch run in a worker thread while the model encodes the current one
    (PIL and torch release the GIL), so the CPU/GPU is never idle waiting for JPEG decoding.
    """
    import torch

    if indices is None:
        indices = range(len(dataset.items(split)))
    indices = list(indices)
    bad: list[dict[str, Any]] = []

    def load(batch: list[int]) -> tuple[Any, list[int]]:
        tensors, ok = [], []
        for i in batch:
            try:
                tensors.append(preprocess(dataset.load_image(split, i).convert("RGB")))
                ok.append(i)
            except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad file; policy in module doc
                item = dataset.items(split)[i]
                bad.append({"index": i, "image": str(item.image), "error": f"{type(exc).__name__}: {exc}"[:300]})
        return (torch.stack(tensors) if tensors else None), ok

    fast = _array_path(dataset, split, preprocess, indices)
    if fast is not None:
        load = fast  # noqa: F811 - the verified array path replaces per-image PIL decoding
    batches = [indices[k : k + batch_size] for k in range(0, len(indices), batch_size)]
    out: np.ndarray | None = None
    pos = {idx: row for row, idx in enumerate(indices)}
    was_training = model.training
    model.eval()
    progress(0, len(indices), f"embedding {dataset.name}/{split}")
    done = 0
    with ThreadPoolExecutor(max_workers=1) as pool, torch.inference_mode():
        fut = pool.submit(load, batches[0]) if batches else None
        for b in range(len(batches)):
            pixels, ok = fut.result()
            fut = pool.submit(load, batches[b + 1]) if b + 1 < len(batches) else None
            if pixels is not None:
                feats = model.encode_image(pixels.to(device)).float().cpu().numpy()
                if out is None:
                    out = np.full((len(indices), feats.shape[1]), np.nan, dtype=np.float32)
                out[[pos[i] for i in ok]] = feats
            done += len(batches[b])
            progress(done, len(indices), f"embedding {dataset.name}/{split}")
    model.train(was_training)
    if out is None:
        first = bad[0]["image"] if bad else "(empty split)"
        raise PcclipError(f"{dataset.name}/{split}: no image could be read (first: {first}); check the dataset root")
    return out, bad


def _array_path(dataset: Dataset, split: str, preprocess: Any, indices: list[int]) -> Callable[..., Any] | None:
    """For array-backed data (the testbed keeps each split as one uint8 array): turn a batch of the array into the
    model's input in one tensor operation instead of per-image PIL round trips. Used only when open_clip's
    preprocess would do nothing but ToTensor + Normalize (images already at the model's size), and only after it
    has been checked to give the same tensor as the preprocess on the first image.
    """
    import torch
    from torchvision import transforms as T

    get = getattr(dataset, "images_array", None)
    steps = getattr(preprocess, "transforms", None)
    if get is None or not steps or not indices:
        return None
    norm = [t for t in steps if isinstance(t, T.Normalize)]
    if len(norm) != 1:
        return None
    arr = get(split)
    mean = torch.tensor(norm[0].mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(norm[0].std, dtype=torch.float32).view(1, 3, 1, 1)

    def to_tensor(batch: list[int]) -> Any:
        x = torch.from_numpy(np.ascontiguousarray(arr[batch])).permute(0, 3, 1, 2).float().div_(255)
        return (x - mean) / std

    try:
        want = preprocess(dataset.load_image(split, indices[0]).convert("RGB"))
        if tuple(want.shape) != tuple(to_tensor([indices[0]])[0].shape):
            return None
        if not torch.allclose(want, to_tensor([indices[0]])[0], atol=1e-5):
            return None
    except Exception:  # noqa: BLE001 - any doubt: the generic path
        return None

    def load(batch: list[int]) -> tuple[Any, list[int]]:
        return to_tensor(batch), list(batch)

    return load


def image_embeddings(
    store: Store,
    model_ref: Any,
    dataset: Dataset,
    split: str,
    device: str = "cpu",
    batch_size: int = 256,
    progress: Progress = no_progress,
    *,
    max_bad_fraction: float = MAX_BAD_FRACTION,
    job_id: int | None = None,
) -> np.ndarray:
    """The split's raw image embeddings (n_items x dim, float32), computed once and memory-mapped on reuse.

    Rows of unreadable images are NaN (see the module docstring); `bad_items(embedding_path(...))` lists them.
    """
    from pcclip.models import model_fingerprint

    path = _cache_path(store, embedding_key(model_fingerprint(model_ref), dataset, split))
    if path.exists():
        progress(1, 1, f"embeddings cached: {path.name}")
        return np.load(path, mmap_mode="r")

    from pcclip.models import load_model

    model, preprocess, _tok = load_model(model_ref, device)
    arr, bad = encode_images(model, preprocess, dataset, split, device=device, batch_size=batch_size,
                             progress=progress)
    if bad and len(bad) > max_bad_fraction * len(arr):
        raise PcclipError(
            f"{dataset.name}/{split}: {len(bad)} of {len(arr)} images unreadable (first: {bad[0]['image']}: "
            f"{bad[0]['error']}); fix the dataset root or raise max_bad_fraction"
        )
    side = path.with_suffix(".bad.json")
    if bad:
        atomic_write_bytes(side, lambda fh: fh.write(json.dumps(bad, indent=1).encode()))
    meta = {"model": str(model_ref), "dataset": dataset.name, "split": split, "shape": list(arr.shape),
            "preprocess": repr(preprocess), "n_bad": len(bad)}
    atomic_write_bytes(path.with_suffix(".json"), lambda fh: fh.write(json.dumps(meta, indent=1).encode()))
    atomic_write_bytes(path, lambda fh: np.save(fh, arr))
    from pcclip.store.artifacts import register_artifact

    register_artifact(store, path, "embeddings", job_id=job_id)
    return np.load(path, mmap_mode="r")


def embedding_path(store: Store, model_ref: Any, dataset: Dataset, split: str) -> Path:
    """Where `image_embeddings` keeps (or would keep) this split's array."""
    from pcclip.models import model_fingerprint

    return _cache_path(store, embedding_key(model_fingerprint(model_ref), dataset, split))
