"""`pcclip datasets list/check` in a real subprocess, and the testbed through the registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from datasets_helpers import make_cifar100, make_imagefolder, truncate, write_image

from pcclip.data.registry import open_dataset


def _pcclip(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "pcclip", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_list_shows_kinds_and_options() -> None:
    out = _pcclip("datasets", "list", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    kinds = [r["kind"] for r in rows if r["kind"]]
    assert kinds[:2] == ["testbed", "imagefolder"] and "sun397" in kinds
    assert {"kind": "", "option": "partition: int", "default": "1",
            "description": "official partition 1..10, or 0 for a hashed split"} in rows
    required = [r["option"] for r in rows if r["default"] == "(required)"]
    assert required == ["root: Path"] * 9  # every on-disk kind needs a root; nothing else is required


def test_check_prints_splits_items_unreadable_and_tasks(tmp_path: Path) -> None:
    root = make_cifar100(tmp_path / "c")
    out = _pcclip("datasets", "check", "cifar100", str(root), "--pairs", "50")
    assert out.returncode == 0, out.stderr
    assert "cifar100:c  kind=cifar100  fingerprint=" in out.stdout
    assert "classes: 100" in out.stdout
    assert "│ test  │ 30     │" in out.stdout  # split counts
    assert "camel" in out.stdout  # an item's label
    assert "unreadable files: none" in out.stdout
    assert "diff/cifar100_size" in out.stdout and "│ 50 " in out.stdout

    folder = make_imagefolder(tmp_path / "if", per_class=2)
    write_image(folder / "cat" / "big.jpg", 1, size=128)
    truncate(folder / "cat" / "big.jpg")
    out = _pcclip("datasets", "check", "imagefolder", str(folder), "-o", "test_fraction=0")
    assert out.returncode == 0, out.stderr
    assert "unreadable files skipped: 1" in out.stdout and "cat/big.jpg" in out.stdout
    assert "difference tasks: none for this kind" in out.stdout
    out = _pcclip("datasets", "check", "imagefolder", str(folder), "--strict")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "error: imagefolder: unreadable image" in out.stderr and "big.jpg" in out.stderr


def test_check_bad_input_is_one_line(tmp_path: Path) -> None:
    out = _pcclip("datasets", "check", "cifar100", str(tmp_path))
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert f"expected {tmp_path}/cifar-100-python/meta" in out.stderr
    out = _pcclip("datasets", "check", "awa2", str(tmp_path), "-o", "nonsense")
    assert out.returncode == 1 and "expected KEY=VALUE" in out.stderr


def test_registry_opens_testbed() -> None:
    ds = open_dataset("testbed", n_train=2, n_pool=2, n_test=4, image_size=16, patch_size=8)
    assert ds.kind == "testbed" and len(ds.items("test")) == 4
    assert ds.load_image("test", 0).size == (16, 16)
