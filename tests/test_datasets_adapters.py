"""Each on-disk adapter reads a tiny fixture written in its dataset's real format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from datasets_helpers import (
    CIFAR_FINE,
    CUB_CLASSES,
    EUROSAT,
    make_awa2,
    make_cifar100,
    make_coco,
    make_csv,
    make_cub,
    make_eurosat,
    make_flowers102,
    make_imagefolder,
    make_sun397,
    write_image,
)

from pcclip.data.base import Dataset
from pcclip.data.registry import KINDS, open_dataset
from pcclip.errors import PcclipError


def _check_basic(ds: Dataset) -> None:
    """Interface invariants every adapter must keep."""
    assert ds.splits()
    for split in ds.splits():
        items = ds.items(split)
        assert [it.index for it in items] == list(range(len(items)))
        if ds.classnames is not None:
            assert all(it.label is None or 0 <= it.label < len(ds.classnames) for it in items)
    split = ds.splits()[0]
    if hasattr(ds, "image_path"):
        assert ds.image_path(split, 0).is_file()
    img = ds.load_image(split, 0)
    assert img.mode == "RGB" and img.size[0] > 0
    cfg = ds.config()
    assert len(ds.fingerprint) == 16 and cfg["kind"] == ds.kind and cfg["name"] == ds.name
    options = {k: v for k, v in cfg.items() if k not in ("kind", "name")}
    assert open_dataset(cfg["kind"], **options).fingerprint == ds.fingerprint  # the stored config reopens it


def test_imagefolder_hashed_split_and_classes(tmp_path: Path) -> None:
    root = make_imagefolder(tmp_path / "if", per_class=10)
    ds = open_dataset("imagefolder", root=root)
    _check_basic(ds)
    assert ds.classnames == ["cat", "dog", "red fox"]  # folder names made readable; notes.txt ignored
    assert set(ds.splits()) == {"train", "test"}
    assert sum(len(ds.items(s)) for s in ds.splits()) == 30
    one = open_dataset("imagefolder", root=root, test_fraction=0)
    assert one.splits() == ["all"] and len(one.items("all")) == 30
    # the hashed split is stable: the same images land in test every time
    again = open_dataset("imagefolder", root=root)
    assert [it.image for it in again.items("test")] == [it.image for it in ds.items("test")]


def test_imagefolder_split_folders(tmp_path: Path) -> None:
    root = make_imagefolder(tmp_path / "if", per_class=2, splits=("train", "test"))
    ds = open_dataset("imagefolder", root=root)
    assert ds.splits() == ["train", "test"]
    assert len(ds.items("train")) == 6 and all(it.image.startswith("train/") for it in ds.items("train"))
    assert ds.classnames[ds.items("test")[0].label] == "cat"


def test_imagefolder_fingerprint_follows_content(tmp_path: Path) -> None:
    root = make_imagefolder(tmp_path / "if", per_class=2)
    fp = open_dataset("imagefolder", root=root).fingerprint
    assert open_dataset("imagefolder", root=root).fingerprint == fp
    assert open_dataset("imagefolder", root=root, test_fraction=0.5).fingerprint != fp
    write_image(root / "dog" / "new.png", 99)
    assert open_dataset("imagefolder", root=root).fingerprint != fp


def test_csv_manifest(tmp_path: Path) -> None:
    csv_path = make_csv(tmp_path / "m")
    ds = open_dataset("csv", root=csv_path)
    _check_basic(ds)
    assert ds.splits() == ["train", "test"] and len(ds.items("train")) == 4
    it = ds.items("train")[1]
    assert it.caption == "a circle, number 1" and ds.classnames[it.label] == "circle"
    assert it.attributes == {"source": "synthetic"}
    assert open_dataset("csv", root=csv_path.parent).fingerprint == ds.fingerprint  # folder with manifest.csv


def test_coco_captions_pool(tmp_path: Path) -> None:
    root = make_coco(tmp_path / "coco")
    ds = open_dataset("coco", root=root)
    _check_basic(ds)
    assert ds.classnames is None and ds.splits() == ["train", "val"]
    items = ds.items("train")
    assert len(items) == 5  # the image without captions is left out
    # the caption is the one with the lowest annotation id; all five kept in id order
    assert items[0].caption == "train image 0 caption 4"
    assert items[0].attributes["captions"][-1] == "train image 0 caption 0"
    assert items[0].image == "train2017/000000000009.jpg"
    sub = open_dataset("coco", root=root, limit=3, seed=1)
    assert len(sub.items("train")) == 3
    assert [i.image for i in open_dataset("coco", root=root, limit=3, seed=1).items("train")] == [
        i.image for i in sub.items("train")
    ]


def test_cub_with_attributes_and_captions(tmp_path: Path) -> None:
    root = make_cub(tmp_path / "cub")
    ds = open_dataset("cub", root=root)
    _check_basic(ds)
    assert ds.classnames == ["Black footed Albatross", "Laysan Albatross", "Cardinal"]
    assert len(ds.items("train")) == 6 and len(ds.items("test")) == 6
    it = ds.items("test")[0]
    assert it.image.startswith(CUB_CLASSES[0] + "/")
    assert len(it.attributes["captions"]) == 10 and it.caption == it.attributes["captions"][0]
    # class 1: attributes 1 and 4 definitely present; attribute 2 only "guessing" (below min_certainty 3)
    assert it.attributes["cub_attributes"] == ["has_bill_shape::curved_(up_or_down)", "has_wing_color::red"]
    low = open_dataset("cub", root=root / "CUB_200_2011", min_certainty=2)  # text_c10/ found beside it
    assert "has_bill_shape::dagger" in low.items("test")[0].attributes["cub_attributes"]
    assert low.items("test")[0].caption == it.caption
    assert open_dataset("cub", root=root / "CUB_200_2011").fingerprint == ds.fingerprint
    assert open_dataset("cub", root=root, caption_index=3).items("test")[0].caption.endswith("says 3.")
    bare = open_dataset("cub", root=root, captions="none", attributes=False)
    assert bare.items("train")[0].caption is None and "cub_attributes" not in bare.items("train")[0].attributes


def test_cifar100_python_pickles(tmp_path: Path) -> None:
    root = make_cifar100(tmp_path / "c")
    ds = open_dataset("cifar100", root=root)
    _check_basic(ds)
    assert ds.classnames == CIFAR_FINE and ds.splits() == ["train", "test"]
    assert len(ds.items("test")) == 30
    it = ds.items("test")[0]
    assert ds.classnames[it.label] == "camel" and it.attributes["coarse_label"] == "super_15"
    px = np.asarray(ds.load_image("test", 0))
    assert px.shape == (32, 32, 3) and (px[..., 0] == 255).all() and (px[..., 1:] == 0).all()  # R,G,B planes
    assert open_dataset("cifar100", root=root / "cifar-100-python").fingerprint == ds.fingerprint


def test_cifar100_refuses_code_in_pickles(tmp_path: Path) -> None:
    import pickle

    root = make_cifar100(tmp_path / "c")

    class Evil:
        def __reduce__(self):  # noqa: ANN204
            return (print, ("pwned",))

    with open(root / "cifar-100-python" / "test", "wb") as fh:
        pickle.dump({"data": Evil()}, fh, protocol=2)
    ds = open_dataset("cifar100", root=root)
    with pytest.raises(PcclipError, match=r"refusing to load __builtin__\.print"):
        ds.items("test")


def test_flowers102_mat_files(tmp_path: Path) -> None:
    root = make_flowers102(tmp_path / "f")
    ds = open_dataset("flowers102", root=root)
    _check_basic(ds)
    assert ds.splits() == ["train", "val", "test"] and len(ds.classnames) == 102
    first = ds.items("test")[0]
    assert first.image == "jpg/image_00001.jpg" and ds.classnames[first.label] == "stemless gentian"  # label 28
    assert ds.classnames[ds.items("test")[-1].label] == "canterbury bells"  # label 3, 1-based in imagelabels.mat
    assert len(ds.items("train")) == 8


def test_awa2_predicates_and_class_split(tmp_path: Path) -> None:
    root = make_awa2(tmp_path / "a")
    ds = open_dataset("awa2", root=root)
    _check_basic(ds)
    assert ds.classnames == ["antelope", "grizzly bear", "killer whale", "dalmatian"]
    assert {ds.classnames[it.label] for it in ds.items("test")} == {"killer whale", "dalmatian"}
    whale = next(it for it in ds.items("test") if ds.classnames[it.label] == "killer whale")
    assert whale.image == "JPEGImages/killer+whale/killer+whale_10001.jpg"
    assert set(whale.attributes["predicates"]) == {"black", "white", "flippers", "hairless", "big", "swims",
                                                    "ocean", "fish"}
    hashed = open_dataset("awa2", root=root, split_by="images", test_fraction=0.5)
    assert set(hashed.splits()) == {"train", "test"} and sum(len(hashed.items(s)) for s in hashed.splits()) == 12
    # hashed by image, so the train split now holds images of the proposed test classes too
    assert {ds.classnames[it.label] for it in hashed.items("train")} - {"antelope", "grizzly bear"}


def test_eurosat_layouts(tmp_path: Path) -> None:
    root = make_eurosat(tmp_path / "e")
    ds = open_dataset("eurosat", root=root)  # finds the 2750/ folder
    _check_basic(ds)
    assert len(ds.classnames) == 10 and ds.classnames[-1] == "sea or lake"
    assert ds.load_image(ds.splits()[0], 0).size == (64, 64)
    direct = open_dataset("eurosat", root=root / "2750", test_fraction=0)
    assert len(direct.items("all")) == 20 and direct.items("all")[0].image.startswith(EUROSAT[0])


def test_sun397_partitions(tmp_path: Path) -> None:
    root = make_sun397(tmp_path / "s")
    ds = open_dataset("sun397", root=root)
    _check_basic(ds)
    assert ds.classnames == ["abbey", "apartment building (outdoor)", "bakery (shop)", "beach"]
    assert len(ds.items("train")) == 8 and len(ds.items("test")) == 8
    it = ds.items("train")[2]
    assert it.image == "a/apartment_building/outdoor/sun_a0005.jpg" and it.label == 1
    hashed = open_dataset("sun397", root=root / "SUN397", partition=0, test_fraction=0)
    assert len(hashed.items("all")) == 16
    inner = open_dataset("sun397", root=root / "SUN397")  # Partitions/ found beside SUN397/
    assert inner.fingerprint == ds.fingerprint


def test_registry_lists_kinds_and_rejects_unknown(tmp_path: Path) -> None:
    assert {"testbed", "imagefolder", "csv", "coco", "cub", "cifar100", "flowers102", "awa2", "eurosat",
            "sun397"} <= set(KINDS)
    for info in KINDS.values():
        if info.kind != "testbed":
            assert info.options()[0][0] == "root" and info.description
    with pytest.raises(PcclipError, match="known kinds: testbed, imagefolder"):
        open_dataset("imagenet", root=tmp_path)
    with pytest.raises(PcclipError, match="unknown option 'colour'; known options: root"):
        open_dataset("awa2", root=tmp_path, colour=1)
    with pytest.raises(PcclipError, match="option 'root' is required"):
        open_dataset("cub")
    with pytest.raises(PcclipError, match="test_fraction"):
        open_dataset("eurosat", root=tmp_path, test_fraction="lots")


def test_registered_in_store_and_reopened_from_row(tmp_path: Path, db_file: Path) -> None:
    import json

    from pcclip.data.testbed import register_dataset
    from pcclip.store import open_store
    from pcclip.store.tables import Dataset as DatasetRow

    ds = open_dataset("awa2", root=make_awa2(tmp_path / "a"))
    store = open_store(db_file)
    try:
        row_id = register_dataset(store, ds)
        assert register_dataset(store, ds) == row_id  # found again by its fingerprint
        with store.session() as s:
            row = s.get(DatasetRow, row_id)
            kind, cfg = row.kind, json.loads(row.config_json)
    finally:
        store.close()
    again = open_dataset(kind, **{k: v for k, v in cfg.items() if k not in ("kind", "name")})
    assert again.fingerprint == ds.fingerprint and again.name == ds.name
