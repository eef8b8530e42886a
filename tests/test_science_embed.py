"""The image-embedding cache: computed once, memory-mapped on reuse, one artifact; the unreadable-image policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from science_helpers import tiny_ref, tiny_testbed
from sqlmodel import select

from pcclip.embed import bad_items, embedding_path, encode_images, image_embeddings
from pcclip.errors import PcclipError
from pcclip.models import load_model
from pcclip.store import open_store
from pcclip.store.tables import Artifact


class Damaged:
    """A testbed whose listed images fail to decode (like truncated files)."""

    def __init__(self, ds, bad: set[int]) -> None:
        self._ds, self._bad = ds, bad
        self.kind, self.name = ds.kind, ds.name + "-damaged"
        self.fingerprint = ds.fingerprint + f"-damaged{sorted(bad)}"

    def __getattr__(self, name):
        if name == "images_array":  # like a file-backed dataset: every image goes through load_image
            raise AttributeError(name)
        return getattr(self._ds, name)

    def load_image(self, split: str, index: int):
        if index in self._bad:
            raise OSError(f"image file is truncated ({index})")
        return self._ds.load_image(split, index)


def test_cache_hit_returns_identical_array_memory_mapped_and_one_artifact(db_file: Path, tmp_path: Path) -> None:
    store = open_store(db_file)
    ds, ref = tiny_testbed(), tiny_ref(tmp_path)
    first = image_embeddings(store, ref, ds, "test", batch_size=16)
    path = embedding_path(store, ref, ds, "test")
    mtime = path.stat().st_mtime_ns
    second = image_embeddings(store, ref, ds, "test")
    assert isinstance(second, np.memmap)
    assert np.array_equal(np.asarray(first), np.asarray(second))
    assert path.stat().st_mtime_ns == mtime  # not recomputed
    assert first.shape == (len(ds.items("test")), 32) and first.dtype == np.float32
    with store.session() as s:
        arts = s.exec(select(Artifact).where(Artifact.kind == "embeddings")).all()
    assert len(arts) == 1 and arts[0].path == str(path)
    # the cache holds what the model computes, in item order
    model, pre, _ = load_model(ref)
    direct, bad = encode_images(model, pre, ds, "test", indices=[3, 0], batch_size=2)
    assert not bad and np.allclose(direct, np.asarray(first)[[3, 0]], atol=1e-5)
    # the array fast path and the per-image PIL path agree
    via_pil, _ = encode_images(model, pre, Damaged(ds, set()), "test", batch_size=16)
    assert np.allclose(via_pil, np.asarray(first), atol=1e-5)
    # another split or model is another entry
    other = image_embeddings(store, tiny_ref(tmp_path, seed=1), ds, "test")
    assert not np.allclose(np.asarray(other), np.asarray(first))


def test_unreadable_images_become_nan_rows_and_are_listed(db_file: Path, tmp_path: Path) -> None:
    store = open_store(db_file)
    ds = Damaged(tiny_testbed(), {5})
    arr = image_embeddings(store, tiny_ref(tmp_path), ds, "test", batch_size=16, max_bad_fraction=0.05)
    assert np.isnan(arr[5]).all() and not np.isnan(np.delete(np.asarray(arr), 5, axis=0)).any()
    listed = bad_items(embedding_path(store, tiny_ref(tmp_path), ds, "test"))
    assert [b["index"] for b in listed] == [5] and "truncated" in listed[0]["error"]


def test_too_many_unreadable_images_is_a_clear_error_and_caches_nothing(db_file: Path, tmp_path: Path) -> None:
    store = open_store(db_file)
    ds = Damaged(tiny_testbed(), set(range(10)))
    with pytest.raises(PcclipError, match="10 of 48 images unreadable"):
        image_embeddings(store, tiny_ref(tmp_path), ds, "test")
    assert not embedding_path(store, tiny_ref(tmp_path), ds, "test").exists()
