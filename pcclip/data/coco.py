"""COCO captions as a generation pool: images with their human captions, no class labels.

Layout (the official 2017 release; `year=2014` reads the 2014 names the same way):

    <root>/annotations/captions_train2017.json
    <root>/annotations/captions_val2017.json
    <root>/train2017/000000000009.jpg ...
    <root>/val2017/000000000139.jpg ...

Splits are the annotation files present (train, val). Each image has ~5 captions: `Item.caption` is the
one with the lowest annotation id (deterministic), `attributes["captions"]` has them all, in id order.
`limit` keeps a seeded random subset of each split (the paper's pool is 1,000 random COCO images)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from pydantic import Field

from pcclip.data.adapter import AdapterOptions, FileDataset, LayoutError, describe_dir


class COCOOptions(AdapterOptions):
    year: int = Field(2017, description="release year in the file names (2017 or 2014)")
    limit: int | None = Field(None, ge=1, description="keep this many images per split (seeded random subset)")
    seed: int = Field(0, description="seed of the `limit` subset")


class COCOCaptionsDataset(FileDataset):
    kind = "coco"
    Options = COCOOptions

    def _ann(self, split: str) -> Path:
        return self.root / "annotations" / f"captions_{split}{self.options.year}.json"

    def _signature_files(self) -> list[Path]:
        return [p for p in (self._ann("train"), self._ann("val")) if p.exists()]

    def _index(self) -> dict[str, list[tuple[str, str | None, int | None, dict[str, Any] | None]]]:
        splits = [s for s in ("train", "val") if self._ann(s).is_file()]
        if not splits:
            ann = self.root / "annotations"
            raise LayoutError(
                f"coco: expected {self._ann('train')} or {self._ann('val')} (the captions annotation files of "
                f"the {self.options.year} release); found: {describe_dir(ann if ann.is_dir() else self.root)}"
            )
        out: dict[str, list[tuple[str, str | None, int | None, dict[str, Any] | None]]] = {}
        for split in splits:
            folder = f"{split}{self.options.year}"
            if not (self.root / folder).is_dir():
                raise LayoutError(
                    f"coco: expected the image folder {self.root / folder} beside annotations/; "
                    f"found: {describe_dir(self.root)}"
                )
            out[split] = self._read_split(split, folder)
        return out

    def _read_split(self, split: str, folder: str) -> list[tuple[str, str | None, int | None, dict[str, Any] | None]]:
        path = self._ann(split)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            images = {int(im["id"]): str(im["file_name"]) for im in data["images"]}
            anns = sorted((int(a["id"]), int(a["image_id"]), str(a["caption"])) for a in data["annotations"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LayoutError(
                f"coco: {path} is not a COCO captions file (needs images[id, file_name] and "
                f"annotations[id, image_id, caption]): {type(exc).__name__}: {exc}"
            ) from None
        caps: dict[int, list[str]] = {}
        for _, image_id, text in anns:
            caps.setdefault(image_id, []).append(" ".join(text.split()))
        ids = sorted(i for i in images if i in caps)  # an image without captions is useless in a pool
        if self.options.limit is not None and self.options.limit < len(ids):
            ids = sorted(random.Random(f"coco:{split}:{self.options.seed}").sample(ids, self.options.limit))
        return [(f"{folder}/{images[i]}", caps[i][0], None, {"coco_id": i, "captions": caps[i]}) for i in ids]
