"""The testbed dataset: config validation, deterministic rendering, the image cache, the store registration."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from testbed_helpers import tiny_testbed, tiny_testbed_config

from pcclip.data.testbed import build_testbed, register_dataset, render, testbed_config, testbed_root
from pcclip.data.testbed_world import sample_records
from pcclip.errors import PcclipError
from pcclip.hashing import file_sha256
from pcclip.store import open_store


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"vary": ["shape", "colour"]}, "vary: unknown attribute 'colour'"),
        ({"values": {"texture": ["striped"]}}, "values: unknown attribute 'texture'"),
        ({"values": {"color": ["pink"]}}, "values: color: value 'pink'"),
        ({"n_train": 0}, "n_train: must be at least 1 image"),
        ({"n_pool": -3}, "n_pool: must be at least 1 image"),
        ({"n_test": 1}, "n_test: must be at least 2 images"),
        ({"image_size": 8}, "image_size 8 is too small for patch_size 16"),
        ({"image_size": 40}, "image_size 40 is too small for patch_size 16"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_bad_configs_are_rejected_naming_the_field(fields: dict, needle: str, tmp_path: Path) -> None:
    os.environ["PCCLIP_CACHE"] = str(tmp_path / "cache")
    with pytest.raises(PcclipError) as exc:
        testbed_config(**fields)
    msg = str(exc.value)
    assert needle in msg and "\n" not in msg
    assert not (tmp_path / "cache").exists(), "no work may start before validation"


def test_same_seed_gives_identical_bytes_in_fresh_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    digests = []
    for name in ("a", "b"):
        monkeypatch.setenv("PCCLIP_CACHE", str(tmp_path / name))
        ds = tiny_testbed(seed=5)
        digests.append([file_sha256(ds.root / f"{sp}.npy") for sp in ds.splits()])
        digests[-1] += [file_sha256(ds.root / f"{sp}.records.json") for sp in ds.splits()]
    assert digests[0] == digests[1]
    monkeypatch.setenv("PCCLIP_CACHE", str(tmp_path / "c"))
    other = tiny_testbed(seed=6)
    assert file_sha256(other.root / "test.npy") != digests[0][2]


def test_render_is_a_pure_function_and_draws_the_colour() -> None:
    rec = sample_records(0, 1, vary=["color", "shape"], values={"color": ["blue"]})[0]
    a = render(rec, 64, noise=3.0, noise_seed=(1, 2))
    assert np.array_equal(a, render(rec, 64, noise=3.0, noise_seed=(1, 2)))
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8
    o = rec.objects[0]
    cy, cx = int(o.y * 64), int(o.x * 64)
    centre = a[cy - 2:cy + 3, cx - 2:cx + 3].reshape(-1, 3).mean(axis=0)  # a solid object: its middle is its colour
    assert centre[2] > centre[0] + 60, "a blue object is drawn blue"


def test_splits_items_labels_and_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PCCLIP_CACHE", str(tmp_path))
    ds = tiny_testbed()
    assert ds.splits() == ["train", "pool", "test"]
    assert [len(ds.items(s)) for s in ds.splits()] == [48, 12, 60]
    assert len(ds.classnames) == 24
    arr = ds.images_array("test")
    assert arr.shape == (60, 32, 32, 3) and arr.dtype == np.uint8
    for it, rec in zip(ds.items("test"), ds.records("test")):
        assert it.attributes == rec.to_dict()
        assert ds.classnames[it.label] == f"{rec.color} {rec.shape}"
        assert rec.color in it.caption and rec.shape in it.caption
    img = ds.load_image("test", 7)
    assert img.size == (32, 32) and np.array_equal(np.asarray(img), arr[7])
    # splits never share a scene draw
    train = {(r.color, r.shape, r.size, r.objects) for r in ds.records("train")}
    assert not train & {(r.color, r.shape, r.size, r.objects) for r in ds.records("test")}
    with pytest.raises(PcclipError, match="no split 'val'"):
        ds.items("val")


def test_images_are_rendered_once_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PCCLIP_CACHE", str(tmp_path))
    cfg = tiny_testbed_config(seed=11)
    calls: list[str] = []
    build_testbed(cfg, progress=lambda d, t=None, m="": calls.append(m))
    assert any("rendering" in m for m in calls)
    root = testbed_root(cfg)
    mtimes = {p.name: p.stat().st_mtime_ns for p in root.iterdir()}
    time.sleep(0.01)
    calls.clear()
    ds = build_testbed(cfg, progress=lambda d, t=None, m="": calls.append(m))
    assert not calls, "a cached testbed does no work"
    assert {p.name: p.stat().st_mtime_ns for p in root.iterdir()} == mtimes
    assert isinstance(ds.images_array("train"), np.memmap)
    # a half-built folder (no completion marker) is rebuilt, not read
    (root / "config.json").unlink()
    (root / "test.npy").write_bytes(b"junk")
    ds = build_testbed(cfg)
    assert ds.images_array("test").shape[0] == cfg.n_test


def test_register_dataset_is_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_file: Path) -> None:
    monkeypatch.setenv("PCCLIP_CACHE", str(tmp_path))
    ds = tiny_testbed()
    store = open_store(db_file)
    try:
        first = register_dataset(store, ds)
        assert register_dataset(store, ds) == first
        import sqlite3

        with sqlite3.connect(db_file) as con:
            rows = con.execute("select name, kind, root, n_items, config_hash from dataset").fetchall()
        assert rows == [(ds.name, "testbed", str(ds.root), 120, ds.fingerprint)]
    finally:
        store.close()
