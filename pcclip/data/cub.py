"""CUB-200-2011 with the ten text captions per image of Reed et al. (CVPR 2016).

Layout (root may be the folder holding CUB_200_2011/, or CUB_200_2011/ itself):

    CUB_200_2011/images.txt                 <image_id> <class_folder>/<file>.jpg
    CUB_200_2011/image_class_labels.txt     <image_id> <class_id>          (1-based)
    CUB_200_2011/train_test_split.txt       <image_id> <is_training_image> (1 train, 0 test)
    CUB_200_2011/classes.txt                <class_id> <class_folder>, e.g. 001.Black_footed_Albatross
    CUB_200_2011/images/<class_folder>/<file>.jpg
    CUB_200_2011/attributes/image_attribute_labels.txt  <image_id> <attribute_id> <is_present> <certainty_id> <time>
    attributes.txt                          <attribute_id> <name>, e.g. 1 has_bill_shape::curved_(up_or_down)
                                            (beside CUB_200_2011/ in the official archive; also looked for inside
                                            CUB_200_2011/ and CUB_200_2011/attributes/)
    text_c10/<class_folder>/<file>.txt      ten captions, one per line (Reed et al.'s cvpr2016_cub archive)

Attributes and captions are optional (options `attributes`, `captions`); an item's `attributes` record holds
`cub_attributes` (names present with certainty >= `min_certainty`) and `captions` (all ten)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from pcclip.data.adapter import AdapterOptions, FileDataset, LayoutError, locate, read_lines, require

TEXT_DIRS = ("text_c10", "CUB_200_2011/text_c10", "cvpr2016_cub/text_c10", "birds/text_c10", "birds/text")


class CUBOptions(AdapterOptions):
    captions: Literal["auto", "required", "none"] = Field(
        "auto", description="Reed et al. text_c10 captions: use if found (auto), require, or ignore"
    )
    text_dir: Path | None = Field(None, description="folder holding text_c10/<class>/<image>.txt (default: searched)")
    caption_index: int = Field(0, ge=0, le=9, description="which of the ten captions is Item.caption")
    attributes: bool = Field(True, description="read the per-image attribute annotations when present")
    min_certainty: int = Field(3, ge=1, le=4, description="1 not visible, 2 guessing, 3 probably, 4 definitely")


def _pairs(lines: list[str], path: Path) -> dict[int, str]:
    out: dict[int, str] = {}
    for n, ln in enumerate(lines, start=1):
        parts = ln.split(maxsplit=1)
        if len(parts) != 2 or not parts[0].isdigit():
            raise LayoutError(f"cub: {path} line {n} is not '<id> <value>': {ln[:60]!r}")
        out[int(parts[0])] = parts[1].strip()
    return out


class CUBDataset(FileDataset):
    kind = "cub"
    Options = CUBOptions

    def _base(self) -> Path:
        return locate("cub", self.root, "images.txt", ("CUB_200_2011",), "the CUB-200-2011 image list")

    def _signature_files(self) -> list[Path]:
        b = self._base()
        return [b / "images.txt", b / "image_class_labels.txt", b / "train_test_split.txt", b / "classes.txt"]

    def _path(self, rel: str) -> Path:
        return self._cub / "images" / rel

    def _index(self) -> dict[str, list[tuple[str, str | None, int | None, dict[str, Any] | None]]]:
        b = self._cub = self.data_dir = self._base()
        files = {
            "images": (b / "images.txt", "<image_id> <image_name>"),
            "labels": (b / "image_class_labels.txt", "<image_id> <class_id>"),
            "split": (b / "train_test_split.txt", "<image_id> <is_training_image>"),
            "classes": (b / "classes.txt", "<class_id> <class_name>"),
        }
        t = {k: _pairs(read_lines("cub", p, what), p) for k, (p, what) in files.items()}
        require("cub", b / "images", "the image folders")
        class_ids = sorted(t["classes"])
        self._raw_classes = [t["classes"][c] for c in class_ids]
        # "001.Black_footed_Albatross" -> "Black footed Albatross"
        self._classnames = [n.split(".", 1)[-1].replace("_", " ") for n in self._raw_classes]
        label_of = {c: i for i, c in enumerate(class_ids)}
        attrs = self._read_attributes(b) if self.options.attributes else {}
        text_dir = self._text_dir()
        out: dict[str, list[tuple[str, str | None, int | None, dict[str, Any] | None]]] = {"train": [], "test": []}
        for image_id in sorted(t["images"]):
            rel = t["images"][image_id]
            try:
                label = label_of[int(t["labels"][image_id])]
                split = "train" if t["split"][image_id] == "1" else "test"
            except (KeyError, ValueError):
                raise LayoutError(
                    f"cub: image {image_id} of images.txt has no class in {files['labels'][0]} or no split in "
                    f"{files['split'][0]}"
                ) from None
            record: dict[str, Any] = {"cub_id": image_id}
            if self.options.attributes and attrs:
                record["cub_attributes"] = attrs.get(image_id, [])
            caption = None
            if text_dir is not None:
                caps = self._captions(text_dir, rel)
                record["captions"] = caps
                caption = caps[min(self.options.caption_index, len(caps) - 1)] if caps else None
            out[split].append((rel, caption, label, record))
        return out

    def _read_attributes(self, b: Path) -> dict[int, list[str]]:
        labels = b / "attributes" / "image_attribute_labels.txt"
        if not labels.is_file():
            return {}
        names_path = next(
            (p for p in (b.parent / "attributes.txt", b / "attributes.txt", b / "attributes" / "attributes.txt")
             if p.is_file()),
            None,
        )
        if names_path is None:
            raise LayoutError(
                f"cub: found {labels} but not the attribute names: expected {b.parent / 'attributes.txt'} "
                f"(or {b / 'attributes.txt'}) with lines '<attribute_id> <attribute_name>'"
            )
        names = _pairs(read_lines("cub", names_path, "attribute names"), names_path)
        present: dict[int, list[str]] = {}
        with open(labels, encoding="utf-8", errors="replace") as fh:
            for n, ln in enumerate(fh, start=1):
                # A few lines of the official file carry an extra column; only the first four matter.
                f = ln.split()
                if not f:
                    continue
                if len(f) < 4:
                    raise LayoutError(
                        f"cub: {labels} line {n} is not '<image_id> <attribute_id> <is_present> <certainty_id> "
                        f"<time>': {ln.strip()[:60]!r}"
                    )
                if f[2] == "1" and int(f[3]) >= self.options.min_certainty:
                    present.setdefault(int(f[0]), []).append(names.get(int(f[1]), f"attribute_{f[1]}"))
        return present

    def _text_dir(self) -> Path | None:
        if self.options.captions == "none":
            return None
        if self.options.text_dir is not None:
            d = Path(self.options.text_dir).expanduser().absolute()
            if d.name != "text_c10" and (d / "text_c10").is_dir():
                d = d / "text_c10"
            return require("cub", d, "Reed et al. captions: text_c10/<class>/<image>.txt")
        # Reed et al.'s archive is unpacked beside CUB_200_2011/, whichever of the two `root` names.
        for base in dict.fromkeys((self.root, self._cub.parent)):
            for sub in TEXT_DIRS:
                if (base / sub).is_dir():
                    return base / sub
        if self.options.captions == "required":
            raise LayoutError(
                f"cub: expected {self.root / 'text_c10'} (Reed et al.'s captions, text_c10/<class>/<image>.txt, "
                f"from cvpr2016_cub); or pass text_dir=..."
            )
        return None

    def _captions(self, text_dir: Path, rel: str) -> list[str]:
        path = text_dir / Path(rel).with_suffix(".txt")
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            if self.options.captions == "required":
                raise LayoutError(f"cub: expected captions file {path} (ten lines)") from None
            return []
        return [" ".join(ln.split()) for ln in text.splitlines() if ln.strip()]
