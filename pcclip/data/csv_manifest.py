"""A CSV manifest: one row per image, with columns

- `path` (required): image file, relative to `images_root` (default: the CSV's folder) or absolute;
- `caption` (optional): a text caption;
- `label` (optional): a class name; classnames are the sorted distinct labels;
- `split` (optional): e.g. train/test; without it images are hashed into train/test (option test_fraction).

Any other column is kept in the item's `attributes` record (as strings). `root` is the CSV file, or a
folder holding `manifest.csv`."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from pydantic import Field

from pcclip.data.adapter import FileDataset, LayoutError, SplitOptions, describe_dir, file_signature, hash_split
from pcclip.progress import Progress, no_progress

REQUIRED = ("path",)
KNOWN = ("path", "caption", "label", "split")


class CSVOptions(SplitOptions):
    images_root: Path | None = Field(None, description="folder the `path` column is relative to (default: the CSV's)")


class CSVManifestDataset(FileDataset):
    kind = "csv"
    Options = CSVOptions

    def __init__(self, progress: Progress = no_progress, **options: Any) -> None:
        raw_root = Path(str(options.get("root", ""))).expanduser().absolute()
        # `root` may name the CSV file itself; the adapter's root is then its folder.
        self._csv = raw_root if raw_root.is_file() else raw_root / "manifest.csv"
        if raw_root.is_file():
            options = {**options, "root": raw_root.parent}
        super().__init__(progress, **options)

    def _path(self, rel: str) -> Path:
        base = Path(self.options.images_root).expanduser().absolute() if self.options.images_root else self.root
        return base / rel

    def _signature_files(self) -> list[Path]:
        return [self._csv]

    def _signature(self, raw: dict[str, list[tuple[Any, ...]]]) -> Any:
        return file_signature([self._csv]) + [self._csv.name]

    @property
    def name(self) -> str:
        return f"csv:{self._csv.stem}"

    def _index(self) -> dict[str, list[tuple[str, str | None, int | None, dict[str, Any] | None]]]:
        if not self._csv.is_file():
            raise LayoutError(
                f"csv: expected {self._csv} (a CSV with columns path[,caption,label,split]); "
                f"found: {describe_dir(self._csv.parent)}"
            )
        with open(self._csv, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            cols = [c.strip() for c in (reader.fieldnames or [])]
            missing = [c for c in REQUIRED if c not in cols]
            if missing:
                raise LayoutError(
                    f"csv: {self._csv} needs a header row with column(s) {', '.join(missing)}; "
                    f"found columns: {', '.join(cols) or 'none'}"
                )
            rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]
        labels = sorted({r["label"] for r in rows if r.get("label")})
        self._classnames = labels or None
        label_of = {name: i for i, name in enumerate(labels)}
        out: dict[str, list[tuple[str, str | None, int | None, dict[str, Any] | None]]] = {}
        for line, r in enumerate(rows, start=2):
            if not r["path"]:
                raise LayoutError(f"csv: {self._csv} line {line}: empty `path`")
            extra = {k: v for k, v in r.items() if k not in KNOWN and k}
            split = r.get("split") or hash_split(r["path"], self.options.test_fraction)
            label = label_of[r["label"]] if r.get("label") else None
            out.setdefault(split, []).append((r["path"], r.get("caption") or None, label, extra or None))
        if not out:
            raise LayoutError(f"csv: {self._csv} has a header but no rows")
        return out
