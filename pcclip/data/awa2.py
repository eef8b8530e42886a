"""Animals with Attributes 2 (AwA2): 37,322 images of 50 animal classes, and an 85-predicate class matrix.

Layout (root may be the folder holding Animals_with_Attributes2/, or that folder itself):

    Animals_with_Attributes2/classes.txt                  "<id>\\t<name>", e.g. "1\\tantelope", "8\\tgrizzly+bear"
    Animals_with_Attributes2/predicates.txt               "<id>\\t<predicate>", e.g. "1\\tblack" (85 lines)
    Animals_with_Attributes2/predicate-matrix-binary.txt  50 rows x 85 columns of 0/1, rows in classes.txt order
    Animals_with_Attributes2/JPEGImages/<name>/<name>_10001.jpg ...
    Animals_with_Attributes2/trainclasses.txt, testclasses.txt   (optional) one class name per line

Splits: with trainclasses.txt/testclasses.txt, train/test are the images of those classes (the archive's
proposed class split, which the PC-CLIP code also uses for its AwA2 task); without them, or with
`split_by="images"`, images are hashed into train/test. Each item's record holds `predicates`: the names of
its class's predicates (class-level annotations: AwA2 has no per-image attributes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from pcclip.data.adapter import (
    FileDataset,
    LayoutError,
    SplitOptions,
    hash_split,
    locate,
    read_lines,
    readable_name,
    require,
    walk_images,
)


class AwA2Options(SplitOptions):
    split_by: Literal["auto", "classes", "images"] = Field(
        "auto", description="classes: trainclasses/testclasses.txt; images: hashed; auto: classes when present"
    )


def _id_name(lines: list[str], path: Path) -> list[str]:
    names = []
    for n, ln in enumerate(lines, start=1):
        parts = ln.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise LayoutError(f"awa2: {path} line {n} is not '<id>\\t<name>': {ln[:60]!r}")
        names.append(parts[1])
    return names


class AwA2Dataset(FileDataset):
    kind = "awa2"
    Options = AwA2Options

    def _base(self) -> Path:
        return locate("awa2", self.root, "classes.txt", ("Animals_with_Attributes2",), "the AwA2 class list")

    def _signature_files(self) -> list[Path]:
        b = self._base()
        return [b / f for f in ("classes.txt", "predicates.txt", "predicate-matrix-binary.txt",
                                "trainclasses.txt", "testclasses.txt")]

    def _path(self, rel: str) -> Path:
        return self._awa / rel

    def _index(self) -> dict[str, list[tuple[str, str | None, int | None, dict[str, Any] | None]]]:
        b = self._awa = self.data_dir = self._base()
        classes = _id_name(read_lines("awa2", b / "classes.txt", "class list"), b / "classes.txt")
        self.predicates = _id_name(read_lines("awa2", b / "predicates.txt", "predicate names"), b / "predicates.txt")
        mpath = b / "predicate-matrix-binary.txt"
        rows = read_lines("awa2", mpath, "the 50 x 85 binary class-predicate matrix")
        matrix: list[list[int]] = []
        for n, ln in enumerate(rows, start=1):
            try:
                row = [int(float(x)) for x in ln.split()]
            except ValueError:
                raise LayoutError(f"awa2: {mpath} line {n} is not a row of 0/1 values") from None
            if len(row) != len(self.predicates):
                raise LayoutError(f"awa2: {mpath} line {n} has {len(row)} values, expected {len(self.predicates)}")
            matrix.append(row)
        if len(matrix) != len(classes):
            raise LayoutError(f"awa2: {mpath} has {len(matrix)} rows, expected one per class ({len(classes)})")
        #: class name (as in classes.txt) -> predicate names it has
        self.class_predicates = {
            c: [p for p, v in zip(self.predicates, matrix[i]) if v == 1] for i, c in enumerate(classes)
        }
        self._raw_classes = classes
        self._classnames = [readable_name(c) for c in classes]
        images = require("awa2", b / "JPEGImages", "JPEGImages/<class>/<image>.jpg")
        by_class = self._class_split(b, classes)
        out: dict[str, list[tuple[str, str | None, int | None, dict[str, Any] | None]]] = {}
        for label, c in enumerate(classes):
            folder = images / c
            if not folder.is_dir() or (by_class and c not in by_class):
                continue  # a class without images (subsets of AwA2 are common) or in neither class list
            for rel in walk_images(folder, b):
                split = by_class[c] if by_class else hash_split(rel, self.options.test_fraction)
                out.setdefault(split, []).append((rel, None, label, {"predicates": self.class_predicates[c]}))
        if not out:
            raise LayoutError(f"awa2: no images under {images}/<class>/ for any class of classes.txt")
        return {k: out[k] for k in ("train", "test", "all") if k in out}

    def _class_split(self, b: Path, classes: list[str]) -> dict[str, str]:
        have = (b / "trainclasses.txt").is_file() and (b / "testclasses.txt").is_file()
        mode = self.options.split_by
        if mode == "images" or (mode == "auto" and not have):
            return {}
        train = read_lines("awa2", b / "trainclasses.txt", "the proposed train classes")
        test = read_lines("awa2", b / "testclasses.txt", "the proposed test classes")
        out = {c: "train" for c in train} | {c: "test" for c in test}
        unknown = [c for c in out if c not in classes]
        if unknown:
            raise LayoutError(f"awa2: {', '.join(unknown[:3])} in train/testclasses.txt not in classes.txt")
        return out
