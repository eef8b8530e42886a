"""EuroSAT (the RGB release): 27,000 64x64 Sentinel-2 patches in 10 land-use class folders.

Accepted roots: the folder holding the 10 class folders, or its parent when it is named `2750` (the
original EuroSAT.zip, as torchvision lays it out), `EuroSAT_RGB` (the Zenodo release) or `eurosat/2750`.
There is no official split: images are hashed into train/test (option test_fraction)."""

from __future__ import annotations

from pathlib import Path

from pcclip.data.adapter import LayoutError, describe_dir
from pcclip.data.imagefolder import ImageFolderDataset, ImageFolderOptions

CLASS_FOLDERS = (
    "AnnualCrop",
    "Forest",
    "HerbaceousVegetation",
    "Highway",
    "Industrial",
    "Pasture",
    "PermanentCrop",
    "Residential",
    "River",
    "SeaLake",
)
#: Prompt-friendly names (as commonly used for CLIP zero-shot on EuroSAT).
CLASS_NAMES = {
    "AnnualCrop": "annual crop land",
    "Forest": "forest",
    "HerbaceousVegetation": "herbaceous vegetation land",
    "Highway": "highway or road",
    "Industrial": "industrial buildings",
    "Pasture": "pasture land",
    "PermanentCrop": "permanent crop land",
    "Residential": "residential buildings",
    "River": "river",
    "SeaLake": "sea or lake",
}
SUBDIRS = ("2750", "EuroSAT_RGB", "eurosat/2750", "EuroSAT", "eurosat")


class EuroSATOptions(ImageFolderOptions):
    pass


class EuroSATDataset(ImageFolderDataset):
    kind = "eurosat"
    Options = EuroSATOptions

    def _class_root(self) -> Path:
        for sub in ("", *SUBDIRS):
            base = self.root / sub if sub else self.root
            if (base / CLASS_FOLDERS[0]).is_dir():
                return base
        raise LayoutError(
            f"eurosat: expected {self.root / '2750' / 'AnnualCrop'} (or {self.root / 'AnnualCrop'}): the 10 class "
            f"folders of the RGB release ({', '.join(CLASS_FOLDERS)}); found: {describe_dir(self.root)}"
        )

    def _check_classes(self, classes: list[str]) -> None:
        missing = [c for c in CLASS_FOLDERS if c not in classes]
        extra = [c for c in classes if c not in CLASS_FOLDERS]
        if missing or extra:
            base = self._class_root()
            raise LayoutError(
                f"eurosat: expected the 10 class folders {', '.join(CLASS_FOLDERS)} in {base}; "
                f"missing: {', '.join(missing) or 'none'}; unexpected: {', '.join(extra) or 'none'}"
            )

    def _display_name(self, folder: str) -> str:
        return CLASS_NAMES[folder]
