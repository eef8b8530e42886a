"""ImageFolder: one folder per class (`<root>/<class>/<image>`), optionally inside split folders
(`<root>/train/<class>/...`, `<root>/test/<class>/...`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field

from pcclip.data.adapter import (
    FileDataset,
    LayoutError,
    SplitOptions,
    describe_dir,
    hash_split,
    listing_signature,
    readable_name,
    walk_images,
)

#: Folder names recognised as split folders (a root whose sub-folders are all among these is split-organised).
SPLIT_DIRS = ("train", "val", "valid", "validation", "test")


class ImageFolderOptions(SplitOptions):
    split_folders: bool | None = Field(
        None, description="root holds train/val/test folders (default: detected from the folder names)"
    )


def _subdirs(path: Path) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(path) if e.is_dir() and not e.name.startswith("."))
    except OSError:
        return []


class ImageFolderDataset(FileDataset):
    kind = "imagefolder"
    Options = ImageFolderOptions

    def _class_root(self) -> Path:
        return self.root

    def _index(self) -> dict[str, list[tuple[str, str | None, int | None, dict[str, Any] | None]]]:
        base = self._class_root()
        top = _subdirs(base)
        split_mode = self.options.split_folders
        if split_mode is None:
            split_mode = bool(top) and all(d.lower() in SPLIT_DIRS for d in top)
        groups: dict[str, Path] = {d: base / d for d in top} if split_mode else {"": base}
        classes = sorted({c for folder in groups.values() for c in _subdirs(folder)})
        where = f"{base}/<split>/<class>/<image>" if split_mode else f"{base}/<class>/<image>"
        if not classes:
            raise LayoutError(
                f"{self.kind}: expected class folders with images, as {where}; found: {describe_dir(base)}"
            )
        self._check_classes(classes)
        self._raw_classes = classes
        self._classnames = [self._display_name(c) for c in classes]
        label_of = {c: i for i, c in enumerate(classes)}
        out: dict[str, list[tuple[str, str | None, int | None, dict[str, Any] | None]]] = {}
        for split, folder in groups.items():
            for c in _subdirs(folder):
                for rel in walk_images(folder / c, self.root):
                    name = split or hash_split(rel, self.options.test_fraction)
                    out.setdefault(name, []).append((rel, None, label_of[c], None))
        if not out:
            raise LayoutError(
                f"{self.kind}: expected image files (.jpg, .png, ...) in class folders, as {where}; found: no images; "
                f"{describe_dir(base)}"
            )
        order = {"train": 0, "val": 1, "valid": 1, "validation": 1, "test": 2, "all": 3}
        return {k: sorted(out[k]) for k in sorted(out, key=lambda s: (order.get(s.lower(), 9), s))}

    def _check_classes(self, classes: list[str]) -> None:
        """Hook for adapters with a fixed class list."""

    def _display_name(self, folder: str) -> str:
        return readable_name(folder)

    def _signature(self, raw: dict[str, list[tuple[Any, ...]]]) -> Any:
        # No index file: the images' relative paths and sizes are the content signature.
        return listing_signature(self.root, raw)
