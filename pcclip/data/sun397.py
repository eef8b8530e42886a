"""SUN397: 108,754 scene images of 397 categories.

Layout (root may be the folder holding SUN397/, or SUN397/ itself):

    SUN397/ClassName.txt                   one class per line: "/a/abbey", "/a/apartment_building/outdoor", ...
    SUN397/<letter>/<class>[/<sub>]/sun_<id>.jpg
    Partitions: Training_01.txt ... Training_10.txt, Testing_01.txt ... Testing_10.txt (Partitions.zip), each line
        an image path like "/a/abbey/sun_aqswjsnjlrfzzhiz.jpg"; looked for in SUN397/, SUN397/Partitions/,
        and the same two places beside SUN397/.

Splits: train/test of partition `partition` (1..10; 50 + 50 images per class). `partition=0` ignores the
partition files and hashes every listed image into train/test instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from pcclip.data.adapter import (
    FileDataset,
    LayoutError,
    SplitOptions,
    describe_dir,
    hash_split,
    locate,
    read_lines,
    walk_images,
)


class SUN397Options(SplitOptions):
    partition: int = Field(1, ge=0, le=10, description="official partition 1..10, or 0 for a hashed split")


def display_name(cls: str) -> str:
    """"/a/apartment_building/outdoor" -> "apartment building (outdoor)"."""
    parts = [p for p in cls.strip("/").split("/") if p][1:]
    main = parts[0].replace("_", " ") if parts else cls
    rest = " ".join(p.replace("_", " ") for p in parts[1:])
    return f"{main} ({rest})" if rest else main


class SUN397Dataset(FileDataset):
    kind = "sun397"
    Options = SUN397Options

    def _base(self) -> Path:
        return locate("sun397", self.root, "ClassName.txt", ("SUN397",), "the SUN397 class list")

    def _partition_files(self) -> tuple[Path, Path]:
        k = self.options.partition
        names = (f"Training_{k:02d}.txt", f"Testing_{k:02d}.txt")
        b = self._base()
        # Partitions.zip is often unpacked beside SUN397/ rather than inside it.
        for d in dict.fromkeys((b, b / "Partitions", self.root, self.root / "Partitions", b.parent,
                                b.parent / "Partitions")):
            if (d / names[0]).is_file() and (d / names[1]).is_file():
                return d / names[0], d / names[1]
        raise LayoutError(
            f"sun397: expected {b / 'Partitions' / names[0]} and {names[1]} (from Partitions.zip; also looked in "
            f"{b} and {b.parent}[/Partitions]), or pass partition=0 for a hashed split; "
            f"found: {describe_dir(b / 'Partitions')}"
        )

    def _signature_files(self) -> list[Path]:
        files = [self._base() / "ClassName.txt"]
        if self.options.partition:
            files.extend(self._partition_files())
        return files

    def _path(self, rel: str) -> Path:
        return self._sun / rel

    def _index(self) -> dict[str, list[tuple[str, str | None, int | None, dict[str, Any] | None]]]:
        b = self._sun = self.data_dir = self._base()
        classes = read_lines("sun397", b / "ClassName.txt", "the class list")
        self._raw_classes = classes
        self._classnames = [display_name(c) for c in classes]
        label_of = {c.strip("/"): i for i, c in enumerate(classes)}
        out: dict[str, list[tuple[str, str | None, int | None, dict[str, Any] | None]]] = {}
        if self.options.partition:
            for split, path in zip(("train", "test"), self._partition_files()):
                recs = []
                for n, ln in enumerate(read_lines("sun397", path, "a partition list"), start=1):
                    rel = ln.strip("/")
                    cls = rel.rsplit("/", 1)[0]
                    if cls not in label_of:
                        raise LayoutError(f"sun397: {path} line {n}: class /{cls} is not in ClassName.txt")
                    recs.append((rel, None, label_of[cls], None))
                out[split] = recs
            return out
        for cls, label in label_of.items():
            for rel in walk_images(b / cls, b):
                if rel.rsplit("/", 1)[0] != cls:
                    continue  # images of a nested class (e.g. .../outdoor) belong to that class, not the parent
                out.setdefault(hash_split(rel, self.options.test_fraction), []).append((rel, None, label, None))
        if not out:
            raise LayoutError(f"sun397: no images under {b}/<letter>/<class>/ for the classes of ClassName.txt")
        return {k: out[k] for k in ("train", "test", "all") if k in out}
