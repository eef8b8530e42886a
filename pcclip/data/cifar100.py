"""CIFAR-100, the python version from the CIFAR site (cifar-100-python.tar.gz):

    <root>/cifar-100-python/train   pickle: data (50000 x 3072 uint8, R then G then B planes of 32x32, row-major),
                                            fine_labels, coarse_labels, filenames, batch_label
    <root>/cifar-100-python/test    the same with 10000 rows
    <root>/cifar-100-python/meta    pickle: fine_label_names (100), coarse_label_names (20)

The pickles were written by Python 2; they are read with a restricted unpickler that only builds numpy
arrays and plain containers, so a tampered file cannot run code. Images are addressed as
"<split>/<row>" and decoded from the arrays (nothing can be unreadable)."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from pcclip.data.adapter import LayoutError, describe_dir, file_signature, locate, parse_options
from pcclip.data.base import Dataset, Item
from pcclip.errors import PcclipError
from pcclip.hashing import stable_hash
from pcclip.progress import Progress, no_progress

if TYPE_CHECKING:
    import numpy as np
    from PIL.Image import Image

SPLITS = ("train", "test")


class CIFAR100Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    root: Path = Field(description="folder holding cifar-100-python/ (or that folder itself)")


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Allows exactly what the CIFAR pickles need: numpy array reconstruction and builtin containers."""

    _ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("copy_reg", "_reconstructor"),
        ("copyreg", "_reconstructor"),
        ("__builtin__", "object"),
        ("_codecs", "encode"),  # how Python 3 writes bytes into protocol-2 pickles
        ("builtins", "object"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _load_pickle(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            obj = _NumpyOnlyUnpickler(fh, encoding="latin1").load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, AttributeError, ImportError) as exc:
        raise LayoutError(
            f"cifar100: {path} is not a CIFAR-100 python pickle ({type(exc).__name__}: {exc}); "
            "download the python version (cifar-100-python.tar.gz) from the CIFAR site"
        ) from None
    if not isinstance(obj, dict):
        raise LayoutError(f"cifar100: {path} holds a {type(obj).__name__}, not the CIFAR dict")
    # Python-2 pickles may come back with bytes keys/strings depending on how they were written.
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in obj.items()}


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


class CIFAR100Dataset(Dataset):
    kind = "cifar100"

    def __init__(self, progress: Progress = no_progress, **options: Any) -> None:
        self.options = parse_options(self.kind, CIFAR100Options, options)
        self.root = Path(self.options.root).expanduser().absolute()
        self.base = locate(
            "cifar100", self.root, "meta", ("cifar-100-python",), "the python version from the CIFAR site"
        )
        for split in SPLITS:
            if not (self.base / split).is_file():
                raise LayoutError(
                    f"cifar100: expected {self.base / split} (the {split} batch of the python version); "
                    f"found: {describe_dir(self.base)}"
                )
        meta = _load_pickle(self.base / "meta")
        if "fine_label_names" not in meta:
            raise LayoutError(f"cifar100: {self.base / 'meta'} has no 'fine_label_names' (keys: {sorted(meta)})")
        self._classnames = [_text(n) for n in meta["fine_label_names"]]
        self._coarse = [_text(n) for n in meta.get("coarse_label_names", [])]
        self._fingerprint = stable_hash(
            {
                "kind": self.kind,
                "options": {**self.options.model_dump(mode="json"), "root": str(self.base)},
                "signature": file_signature([self.base / "meta", *(self.base / s for s in SPLITS)]),
            }
        )
        self.unreadable: list[tuple[str, str]] = []
        self._data: dict[str, np.ndarray] = {}
        self._items: dict[str, list[Item]] = {}
        self._progress = progress

    def _load(self, split: str) -> None:
        """Unpickle a split on first use (the train batch is 150 MB)."""
        if split in self._items:
            return
        if split not in SPLITS:
            raise PcclipError(f"{self.name}: no split {split!r}; splits: {', '.join(SPLITS)}")
        import numpy as np

        path = self.base / split
        d = _load_pickle(path)
        for key in ("data", "fine_labels"):
            if key not in d:
                raise LayoutError(f"cifar100: {path} has no {key!r} (keys: {sorted(d)}); is it CIFAR-10?")
        data = np.asarray(d["data"], dtype=np.uint8)
        labels = [int(x) for x in d["fine_labels"]]
        if data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] != len(labels):
            raise LayoutError(
                f"cifar100: {path} data has shape {data.shape}, expected ({len(labels)}, 3072) uint8 rows"
            )
        if labels and not 0 <= min(labels) <= max(labels) < len(self._classnames):
            raise LayoutError(f"cifar100: {path} has fine labels outside 0..{len(self._classnames) - 1}")
        names = [_text(n) for n in d.get("filenames", [])] or [f"{split}_{i}.png" for i in range(len(labels))]
        coarse = [int(x) for x in d.get("coarse_labels", [])]
        self._data[split] = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        items = []
        for i, lab in enumerate(labels):
            rec: dict[str, Any] = {"filename": names[i]}
            if coarse and self._coarse:
                rec["coarse_label"] = self._coarse[coarse[i]]
            items.append(Item(index=i, image=f"{split}/{i}", caption=None, label=lab, attributes=rec))
        self._items[split] = items
        self._progress(1, 1, f"loaded cifar100 {split}")

    @property
    def name(self) -> str:
        return f"cifar100:{self.root.name}"

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def classnames(self) -> list[str]:
        return list(self._classnames)

    def splits(self) -> list[str]:
        return list(SPLITS)

    def items(self, split: str) -> Sequence[Item]:
        self._load(split)
        return self._items[split]

    def load_image(self, split: str, index: int) -> Image:
        import numpy as np
        from PIL import Image as PILImage

        self._load(split)
        return PILImage.fromarray(np.ascontiguousarray(self._data[split][index]))

    def config(self) -> dict[str, Any]:
        """Flat {kind, name, **options} like the testbed's: the rest after kind and name reopens the dataset."""
        return {"kind": self.kind, "name": self.name, **self.options.model_dump(mode="json")}
