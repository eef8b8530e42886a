"""Oxford Flowers-102: 8,189 images of 102 flower categories.

Layout (the three files of the Oxford VGG page; root may also be their parent folder `flowers-102/`):

    <root>/jpg/image_00001.jpg ... image_08189.jpg   (102flowers.tgz)
    <root>/imagelabels.mat                           `labels`: 1 x 8189, class 1..102 of image k (1-based)
    <root>/setid.mat                                 `trnid`, `valid`, `tstid`: 1-based image numbers

Splits: train (trnid, 1,020 images), val (valid, 1,020), test (tstid, 6,149). The dataset ships no class
names; CLASSNAMES below is the list in common use for CLIP zero-shot evaluation (index = label - 1; the
same list ships with the PC-CLIP public code)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pcclip.data.adapter import AdapterOptions, FileDataset, LayoutError, locate, require

CLASSNAMES = [
    "pink primrose", "hard-leaved pocket orchid", "canterbury bells", "sweet pea", "english marigold",
    "tiger lily", "moon orchid", "bird of paradise", "monkshood", "globe thistle",
    "snapdragon", "colt's foot", "king protea", "spear thistle", "yellow iris",
    "globe-flower", "purple coneflower", "peruvian lily", "balloon flower", "giant white arum lily",
    "fire lily", "pincushion flower", "fritillary", "red ginger", "grape hyacinth",
    "corn poppy", "prince of wales feathers", "stemless gentian", "artichoke", "sweet william",
    "carnation", "garden phlox", "love in the mist", "mexican aster", "alpine sea holly",
    "ruby-lipped cattleya", "cape flower", "great masterwort", "siam tulip", "lenten rose",
    "barbeton daisy", "daffodil", "sword lily", "poinsettia", "bolero deep blue",
    "wallflower", "marigold", "buttercup", "oxeye daisy", "common dandelion",
    "petunia", "wild pansy", "primula", "sunflower", "pelargonium",
    "bishop of llandaff", "gaura", "geranium", "orange dahlia", "pink-yellow dahlia",
    "cautleya spicata", "japanese anemone", "black-eyed susan", "silverbush", "californian poppy",
    "osteospermum", "spring crocus", "bearded iris", "windflower", "tree poppy",
    "gazania", "azalea", "water lily", "rose", "thorn apple",
    "morning glory", "passion flower", "lotus", "toad lily", "anthurium",
    "frangipani", "clematis", "hibiscus", "columbine", "desert-rose",
    "tree mallow", "magnolia", "cyclamen", "watercress", "canna lily",
    "hippeastrum", "bee balm", "ball moss", "foxglove", "bougainvillea",
    "camellia", "mallow", "mexican petunia", "bromelia", "blanket flower",
    "trumpet creeper", "blackberry lily",
]  # fmt: skip
assert len(CLASSNAMES) == 102

SPLIT_KEYS = {"train": "trnid", "val": "valid", "test": "tstid"}


def _loadmat(path: Path) -> dict[str, Any]:
    import scipy.io

    try:
        return scipy.io.loadmat(str(path))
    except Exception as exc:  # noqa: BLE001 - scipy raises IndexError, MatReadError... on garbage input
        raise LayoutError(f"flowers102: {path} is not a readable MATLAB file ({type(exc).__name__}: {exc})") from None


class Flowers102Dataset(FileDataset):
    kind = "flowers102"
    Options = AdapterOptions

    def _base(self) -> Path:
        what = "image labels, from the Oxford page"
        return locate("flowers102", self.root, "imagelabels.mat", ("flowers-102",), what)

    def _signature_files(self) -> list[Path]:
        b = self._base()
        return [b / "imagelabels.mat", b / "setid.mat"]

    def _path(self, rel: str) -> Path:
        return self._flowers / rel

    def _index(self) -> dict[str, list[tuple[str, str | None, int | None, dict[str, Any] | None]]]:
        import numpy as np

        b = self._flowers = self.data_dir = self._base()
        require("flowers102", b / "setid.mat", "the train/val/test split, from the Oxford page")
        require("flowers102", b / "jpg", "the images of 102flowers.tgz: jpg/image_00001.jpg ...")
        lm = _loadmat(b / "imagelabels.mat")
        if "labels" not in lm:
            raise LayoutError(f"flowers102: {b / 'imagelabels.mat'} has no variable 'labels'")
        labels = np.asarray(lm["labels"]).astype(np.int64).ravel()
        if labels.size and not (labels.min() >= 1 and labels.max() <= 102):
            raise LayoutError(f"flowers102: labels in {b / 'imagelabels.mat'} must be 1..102")
        self._classnames = list(CLASSNAMES)
        sm = _loadmat(b / "setid.mat")
        out: dict[str, list[tuple[str, str | None, int | None, dict[str, Any] | None]]] = {}
        for split, key in SPLIT_KEYS.items():
            if key not in sm:
                raise LayoutError(f"flowers102: {b / 'setid.mat'} has no variable {key!r} (needs trnid, valid, tstid)")
            ids = sorted(int(x) for x in np.asarray(sm[key]).ravel())
            bad = [i for i in ids if not 1 <= i <= labels.size]
            if bad:
                raise LayoutError(
                    f"flowers102: setid.mat {key} names image {bad[0]}, but imagelabels.mat has {labels.size} labels"
                )
            out[split] = [(f"jpg/image_{i:05d}.jpg", None, int(labels[i - 1]) - 1, {"image_id": i}) for i in ids]
        return out
