"""`open_dataset(kind, **options)`: the one way the rest of pcclip opens a dataset, testbed or on-disk.

Adapters are imported only when used; `KINDS` describes them (for `pcclip datasets list`) without opening
anything."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from pcclip.data.base import Dataset
from pcclip.errors import PcclipError
from pcclip.progress import Progress, no_progress


@dataclass(frozen=True)
class KindInfo:
    kind: str
    description: str
    target: str  # "module:Class" of the adapter (or of its options for the testbed)
    options_target: str  # "module:OptionsModel"

    def options(self) -> list[tuple[str, str, Any, str]]:
        """(name, type, default, help) of each option; `...` as default means required."""
        module, name = self.options_target.split(":")
        model = getattr(importlib.import_module(module), name)
        out = []
        for fname, f in model.model_fields.items():
            ann = str(f.annotation)
            if ann.startswith("<class '"):
                ann = f.annotation.__name__
            ann = ann.replace("typing.", "").replace("pathlib.", "")
            default = ... if f.is_required() else f.get_default(call_default_factory=True)
            out.append((fname, ann, default, f.description or ""))
        return out


_K = [
    KindInfo("testbed", "procedural captioned shapes drawn by pcclip itself (no download; no root)",
             "pcclip.data.testbed:build_testbed", "pcclip.data.testbed:TestbedConfig"),
    KindInfo("imagefolder", "one folder per class (<root>/<class>/<img>), optionally inside train/val/test folders",
             "pcclip.data.imagefolder:ImageFolderDataset", "pcclip.data.imagefolder:ImageFolderOptions"),
    KindInfo("csv", "a CSV manifest with columns path[,caption,label,split]",
             "pcclip.data.csv_manifest:CSVManifestDataset", "pcclip.data.csv_manifest:CSVOptions"),
    KindInfo("coco", "COCO captions (annotations/captions_{train,val}2017.json + images): a generation pool",
             "pcclip.data.coco:COCOCaptionsDataset", "pcclip.data.coco:COCOOptions"),
    KindInfo("cub", "CUB-200-2011 with attribute labels and Reed et al.'s ten captions per image (text_c10)",
             "pcclip.data.cub:CUBDataset", "pcclip.data.cub:CUBOptions"),
    KindInfo("cifar100", "CIFAR-100, python pickle version (cifar-100-python/{train,test,meta})",
             "pcclip.data.cifar100:CIFAR100Dataset", "pcclip.data.cifar100:CIFAR100Options"),
    KindInfo("flowers102", "Oxford Flowers-102 (jpg/, imagelabels.mat, setid.mat)",
             "pcclip.data.flowers102:Flowers102Dataset", "pcclip.data.adapter:AdapterOptions"),
    KindInfo("awa2", "Animals with Attributes 2 (JPEGImages/, classes.txt, predicates.txt, predicate matrix)",
             "pcclip.data.awa2:AwA2Dataset", "pcclip.data.awa2:AwA2Options"),
    KindInfo("eurosat", "EuroSAT RGB (10 land-use class folders of 64x64 jpg)",
             "pcclip.data.eurosat:EuroSATDataset", "pcclip.data.eurosat:EuroSATOptions"),
    KindInfo("sun397", "SUN397 (SUN397/<letter>/<class>/..., ClassName.txt, Partitions Training/Testing_XX.txt)",
             "pcclip.data.sun397:SUN397Dataset", "pcclip.data.sun397:SUN397Options"),
]
#: kind -> KindInfo
KINDS: dict[str, KindInfo] = {k.kind: k for k in _K}


def _resolve(target: str) -> Any:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def _open_testbed(options: dict[str, Any], progress: Progress) -> Dataset:
    testbed = importlib.import_module("pcclip.data.testbed")
    # testbed_config turns validation errors into one-line SpecErrors; fall back to the bare model.
    make = getattr(testbed, "testbed_config", None) or testbed.TestbedConfig
    config = make(**options)
    try:
        return testbed.build_testbed(config, progress=progress)
    except TypeError:  # an older build_testbed without a progress argument
        return testbed.build_testbed(config)


def open_dataset(kind: str, progress: Progress = no_progress, **options: Any) -> Dataset:
    """Open dataset `kind` with `options` (e.g. root=...). Errors are one-line `PcclipError`s."""
    info = KINDS.get(kind)
    if info is None:
        raise PcclipError(f"unknown dataset kind {kind!r}; known kinds: {', '.join(KINDS)}")
    if kind == "testbed":
        return _open_testbed(options, progress)
    return _resolve(info.target)(progress=progress, **options)
