"""Bad input: roots in the wrong layout (the message names the file expected where), and unreadable or
truncated images under both policies."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from datasets_helpers import (
    make_awa2,
    make_cifar100,
    make_coco,
    make_csv,
    make_cub,
    make_eurosat,
    make_flowers102,
    make_imagefolder,
    make_sun397,
    truncate,
    write_image,
)

from pcclip.data.images import UnreadableImageError, UnreadableImagesWarning, check_image
from pcclip.data.registry import open_dataset
from pcclip.errors import PcclipError


def _err(kind: str, **options: object) -> str:
    with pytest.raises(PcclipError) as exc:
        ds = open_dataset(kind, **options)
        for s in ds.splits():  # CIFAR-100 reads its batches on first use
            ds.items(s)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"{kind}: ")
    return msg


def test_empty_roots_name_the_expected_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "junk").mkdir(parents=True)
    expected = {
        "cifar100": "empty/cifar-100-python/meta",
        "flowers102": "empty/flowers-102/imagelabels.mat",
        "awa2": "empty/Animals_with_Attributes2/classes.txt",
        "cub": "empty/CUB_200_2011/images.txt",
        "coco": "empty/annotations/captions_train2017.json",
        "sun397": "empty/SUN397/ClassName.txt",
        "eurosat": "empty/2750/AnnualCrop",
        "csv": "empty/manifest.csv",
        "imagefolder": "<class>/<image>",
    }
    for kind, path in expected.items():
        msg = _err(kind, root=empty)
        assert path in msg, msg
        assert "found:" in msg and "junk" in msg, msg  # says what IS there
    assert "python version from the CIFAR site" in _err("cifar100", root=empty)
    assert "does not exist" in _err("awa2", root=tmp_path / "nowhere")


def test_partial_layouts_name_the_missing_file(tmp_path: Path) -> None:
    c = make_cifar100(tmp_path / "c")
    (c / "cifar-100-python" / "train").unlink()
    assert "cifar-100-python/train (the train batch" in _err("cifar100", root=c)

    f = make_flowers102(tmp_path / "f")
    (f / "flowers-102" / "setid.mat").unlink()
    assert "flowers-102/setid.mat" in _err("flowers102", root=f)
    (f / "flowers-102" / "setid.mat").write_bytes(b"not a mat file at all")
    assert "setid.mat is not a readable MATLAB file" in _err("flowers102", root=f)

    a = make_awa2(tmp_path / "a")
    (a / "Animals_with_Attributes2" / "predicate-matrix-binary.txt").unlink()
    assert "Animals_with_Attributes2/predicate-matrix-binary.txt" in _err("awa2", root=a)

    u = make_cub(tmp_path / "u")
    (u / "CUB_200_2011" / "train_test_split.txt").unlink()
    msg = _err("cub", root=u)
    assert "CUB_200_2011/train_test_split.txt" in msg and "<image_id> <is_training_image>" in msg
    u2 = make_cub(tmp_path / "u2", text=False)
    assert "text_c10" in _err("cub", root=u2, captions="required")
    (u2 / "attributes.txt").unlink()
    assert "attributes.txt" in _err("cub", root=u2)

    s = make_sun397(tmp_path / "s")
    shutil.rmtree(s / "Partitions")
    assert "Partitions/Training_01.txt" in _err("sun397", root=s)
    assert "Testing_03.txt" in _err("sun397", root=s, partition=3)

    e = make_eurosat(tmp_path / "e")
    shutil.rmtree(e / "2750" / "River")
    assert "missing: River" in _err("eurosat", root=e)

    o = make_coco(tmp_path / "o")
    shutil.rmtree(o / "val2017")
    assert "o/val2017" in _err("coco", root=o)
    (o / "annotations" / "captions_val2017.json").unlink()
    (o / "annotations" / "captions_train2017.json").write_text('{"images": []}')
    assert "captions_train2017.json is not a COCO captions file" in _err("coco", root=o)

    m = make_csv(tmp_path / "m")
    m.write_text("file,caption\nx.png,hello\n")
    assert "column(s) path; found columns: file, caption" in _err("csv", root=m)


def test_malformed_index_lines(tmp_path: Path) -> None:
    a = make_awa2(tmp_path / "a")
    (a / "Animals_with_Attributes2" / "predicate-matrix-binary.txt").write_text("0 1 0\n")
    assert "line 1 has 3 values, expected 85" in _err("awa2", root=a)
    u = make_cub(tmp_path / "u")
    (u / "CUB_200_2011" / "images.txt").write_text("one two three\n")
    assert "images.txt line 1 is not '<id> <value>'" in _err("cub", root=u)


def _big_jpeg(path: Path) -> Path:
    return write_image(path, 7, size=128)  # big enough that half the file still has a parsable header


def test_check_image_reasons(tmp_path: Path) -> None:
    jpg = truncate(_big_jpeg(tmp_path / "a.jpg"))
    png = truncate(write_image(tmp_path / "b.png", 3, size=128))
    (tmp_path / "c.jpg").write_bytes(b"")
    (tmp_path / "d.jpg").write_text("<html>not found</html>")
    assert check_image(jpg, "fast") == "truncated (no JPEG end marker)"
    assert check_image(png, "fast") == "truncated (no PNG IEND chunk)"
    assert check_image(tmp_path / "c.jpg") == "empty file"
    assert check_image(tmp_path / "d.jpg").startswith("not a readable image")
    assert check_image(tmp_path / "missing.jpg") == "missing"
    assert check_image(jpg, "full").startswith("cannot decode")
    assert check_image(jpg, "none") is None
    assert check_image(_big_jpeg(tmp_path / "ok.jpg"), "full") is None


def test_truncated_image_skipped_and_listed_by_default(tmp_path: Path) -> None:
    root = make_imagefolder(tmp_path / "if", per_class=3)
    _big_jpeg(root / "dog" / "dog_big.jpg")
    truncate(root / "dog" / "dog_big.jpg")
    with pytest.warns(UnreadableImagesWarning, match=r"skipped 1 unreadable image file\(s\): .*dog_big\.jpg"):
        ds = open_dataset("imagefolder", root=root, test_fraction=0)
    assert ds.unreadable == [("dog/dog_big.jpg", "truncated (no JPEG end marker)")]
    items = ds.items("all")
    assert len(items) == 9 and "dog/dog_big.jpg" not in {it.image for it in items}
    assert [it.index for it in items] == list(range(9))
    for i in range(len(items)):
        ds.load_image("all", i)  # every kept image decodes


def test_truncated_image_strict_raises_naming_file(tmp_path: Path) -> None:
    root = make_flowers102(tmp_path / "f")
    _big_jpeg(root / "flowers-102" / "jpg" / "image_00002.jpg")
    truncate(root / "flowers-102" / "jpg" / "image_00002.jpg")
    with pytest.raises(UnreadableImageError, match=r"flowers102: unreadable image .*jpg/image_00002\.jpg: truncated"):
        open_dataset("flowers102", root=root, strict=True)


def test_unscreened_bad_image_fails_at_load_naming_file(tmp_path: Path) -> None:
    root = make_sun397(tmp_path / "s")
    bad = root / "SUN397" / "a" / "abbey" / "sun_a0001.jpg"
    _big_jpeg(bad)
    truncate(bad)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # verify=none: nothing is screened, nothing warned
        ds = open_dataset("sun397", root=root, verify="none")
    assert ds.unreadable == [] and ds.items("train")[0].image == "a/abbey/sun_a0001.jpg"
    with pytest.raises(UnreadableImageError, match=r"cannot read image .*sun_a0001\.jpg"):
        ds.load_image("train", 0)
    with pytest.warns(UnreadableImagesWarning):
        full = open_dataset("sun397", root=root, verify="full")
    assert full.unreadable[0][0] == "a/abbey/sun_a0001.jpg"


def test_screen_cache_rechecks_repaired_files(tmp_path: Path) -> None:
    root = make_awa2(tmp_path / "a")
    img = root / "Animals_with_Attributes2" / "JPEGImages" / "dalmatian" / "dalmatian_10001.jpg"
    _big_jpeg(img)
    truncate(img)
    with pytest.warns(UnreadableImagesWarning):
        first = open_dataset("awa2", root=root)
    with pytest.warns(UnreadableImagesWarning):
        again = open_dataset("awa2", root=root)  # answered from the cache
    assert again.unreadable == first.unreadable and len(first.unreadable) == 1
    _big_jpeg(img)  # the user re-downloads the file
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fixed = open_dataset("awa2", root=root)
    assert fixed.unreadable == [] and len(fixed.items("test")) == 6


def test_damaged_screen_cache_is_recomputed(tmp_path: Path) -> None:
    import os

    root = make_imagefolder(tmp_path / "if", per_class=2)
    _big_jpeg(root / "cat" / "big.jpg")
    truncate(root / "cat" / "big.jpg")
    with pytest.warns(UnreadableImagesWarning):
        ds = open_dataset("imagefolder", root=root)
    cache = Path(os.environ["PCCLIP_CACHE"]) / "datasets" / f"screen-{ds.fingerprint}-fast.json"
    assert cache.is_file()
    cache.write_text('{"x": 1}')
    with pytest.warns(UnreadableImagesWarning):
        again = open_dataset("imagefolder", root=root)
    assert again.unreadable == ds.unreadable == [("cat/big.jpg", "truncated (no JPEG end marker)")]
