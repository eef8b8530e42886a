"""The paper's difference tasks on the real-format fixtures: sentences, orientation, determinism."""

from __future__ import annotations

from pathlib import Path

import pytest
from datasets_helpers import AWA_PREDICATES, make_awa2, make_cifar100, make_cub, make_flowers102

from pcclip.data import real_tasks as rt
from pcclip.data.registry import open_dataset
from pcclip.errors import PcclipError


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    t = tmp_path_factory.mktemp("tasks")
    return {
        "awa2": make_awa2(t / "awa2"),
        "cifar100": make_cifar100(t / "cifar", per_class=6),
        "flowers102": make_flowers102(t / "fl", per_class=4),
        "cub": make_cub(t / "cub", per_class=6),
    }


def _pairs(task: object) -> list[tuple[int, int, str]]:
    return [(p.a, p.b, p.sentence) for p in task.pairs]


def test_cifar100_size_orientation_and_determinism(fixtures: dict[str, Path]) -> None:
    ds = open_dataset("cifar100", root=fixtures["cifar100"])
    task = rt.build_task(ds, "cifar100_size", seed=0, n_pairs=200)
    assert task.name == "cifar100_size" and task.split == "test" and task.chance == 0.5
    assert len(task.pairs) == 200 and len(set((p.a, p.b) for p in task.pairs)) == 200
    items = ds.items("test")
    big, small = set(rt.CIFAR_LARGE), set(rt.CIFAR_SMALL)
    n_forward = 0
    for p in task.pairs:
        ca, cb = ds.classnames[items[p.a].label], ds.classnames[items[p.b].label]
        if p.sentence == "The first image contains a larger animal, while the second contains a smaller animal":
            assert ca in big and cb in small
            n_forward += 1
        else:
            assert p.sentence == "The first image contains a smaller animal, while the second contains a larger animal"
            assert ca in small and cb in big
    assert 60 < n_forward < 140  # both orders occur
    assert _pairs(rt.cifar100_size(ds, n_pairs=200, seed=0)) == _pairs(task)
    assert _pairs(rt.cifar100_size(ds, n_pairs=200, seed=1)) != _pairs(task)
    # all 24 x 24 cross pairs when asked for more than exist
    assert len(rt.cifar100_size(ds, n_pairs=10_000).pairs) == 24 * 24


def test_flowers102_blue_yellow_ids_match_names(fixtures: dict[str, Path]) -> None:
    from pcclip.data.flowers102 import CLASSNAMES

    for label, name in {**rt.FLOWERS_BLUE, **rt.FLOWERS_YELLOW}.items():
        assert CLASSNAMES[label] == name
    ds = open_dataset("flowers102", root=fixtures["flowers102"])
    task = rt.flowers102_color(ds, seed=3, n_pairs=50)
    items = ds.items("test")
    assert len(task.pairs) == 50
    for p in task.pairs:
        la, lb = items[p.a].label, items[p.b].label
        if p.sentence == "The first flower is blue, while the second is yellow":
            assert la in rt.FLOWERS_BLUE and lb in rt.FLOWERS_YELLOW
        else:
            assert p.sentence == "The first flower is yellow, while the second is blue"
            assert la in rt.FLOWERS_YELLOW and lb in rt.FLOWERS_BLUE
    used = {items[p.a].label for p in task.pairs} | {items[p.b].label for p in task.pairs}
    assert used <= set(rt.FLOWERS_BLUE) | set(rt.FLOWERS_YELLOW)
    assert 1 not in used and 3 not in used  # the public code's "blue" ids 2 and 7 (1-based 3, 8) are not blue


def test_awa2_attribute_sentences(fixtures: dict[str, Path]) -> None:
    assert set(rt.AWA2_VISUAL) | set(rt.AWA2_NON_VISUAL) == set(AWA_PREDICATES)
    assert not set(rt.AWA2_VISUAL) & set(rt.AWA2_NON_VISUAL)
    ds = open_dataset("awa2", root=fixtures["awa2"])
    task = rt.awa2_attributes(ds, seed=0, n_pairs=100, max_attributes=None)
    items = ds.items("test")
    assert len(task.pairs) == 18  # 3 whales x 3 dalmatians, both orders
    for p in task.pairs:
        a, b = (ds.classnames[items[i].label] for i in (p.a, p.b))
        assert a != b
        if a == "killer whale":
            expect = ("The first image has attributes of hairless, big, flippers, while the second image has "
                      "attributes of spots, furry, paws, tail")
        else:
            expect = ("The first image has attributes of spots, furry, paws, tail, while the second image has "
                      "attributes of hairless, big, flippers")
        assert p.sentence == expect  # ocean, fish, swims, domestic... (not visible) never appear
    capped = rt.awa2_attributes(ds, seed=0, n_pairs=100, max_attributes=2)
    assert all(s.sentence.count(",") == 3 for s in capped.pairs)
    assert _pairs(rt.awa2_attributes(ds, seed=0, n_pairs=100, max_attributes=2)) == _pairs(capped)


def test_cub_tasks(fixtures: dict[str, Path]) -> None:
    assert rt.cub_attribute_phrase("has_wing_color::blue") == "blue wing"
    assert rt.cub_attribute_phrase("has_bill_shape::curved_(up_or_down)") == "curved bill"
    assert rt.cub_attribute_phrase("has_size::small_(5_-_9_in)") == "small size"
    assert rt.cub_attribute_phrase("has_shape::perching-like") == "perching-like shape"
    assert rt.cub_attribute_phrase("has_primary_color::yellow") == "mostly yellow body"
    assert rt.cub_attribute_phrase("has_bill_length::shorter_than_head") == "bill shorter than head"
    assert rt.cub_attribute_phrase("has_tail_shape::forked_tail") == "forked tail"
    assert rt.cub_attribute_phrase("has_wing_shape::rounded-wings") == "rounded wings"
    assert rt.cub_attribute_phrase("has_head_pattern::capped") == "capped head"
    ds = open_dataset("cub", root=fixtures["cub"])
    task = rt.cub_attributes(ds, seed=0, n_pairs=40)
    items = ds.items("test")
    assert task.split == "test" and len(task.pairs) == 40
    by_class = {0: "curved bill, red wing", 1: "dagger bill, black upperparts", 2: "blue wing, small size"}
    for p in task.pairs:
        la, lb = items[p.a].label, items[p.b].label
        assert la != lb
        # class 1's attribute 2 ("dagger bill") is only "guessing" there, so it never counts for class 0
        only_a = ", ".join(sorted(set(by_class[la].split(", ")) - set(by_class[lb].split(", "))))
        only_b = ", ".join(sorted(set(by_class[lb].split(", ")) - set(by_class[la].split(", "))))
        assert p.sentence == f"The first bird has {only_a}, while the second bird has {only_b}"
    caps = rt.cub_captions(ds, seed=2, n_pairs=30)
    assert len(caps.pairs) == 30
    for p in caps.pairs:
        assert items[p.a].label != items[p.b].label
        first, second = p.sentence.split("; the second bird: ")
        assert first.removeprefix("The first bird: ") + "." in items[p.a].attributes["captions"]
        assert second + "." in items[p.b].attributes["captions"]
    raw = rt.caption_pairs(ds, seed=2, n_pairs=30)
    assert [(a, b) for a, b, _, _ in raw] == [(p.a, p.b) for p in caps.pairs]


def test_task_errors_and_support(fixtures: dict[str, Path]) -> None:
    cifar = open_dataset("cifar100", root=fixtures["cifar100"])
    cub = open_dataset("cub", root=fixtures["cub"])
    assert rt.supported_tasks(cifar) == ["cifar100_size"]
    assert rt.supported_tasks(cub) == ["cub_attributes", "cub_captions"]
    with pytest.raises(PcclipError, match="needs a awa2 dataset, got cifar100"):
        rt.awa2_attributes(cifar)
    with pytest.raises(PcclipError, match="unknown difference task 'colour'"):
        rt.build_task(cifar, "colour")
    with pytest.raises(PcclipError, match="no split 'val'"):
        rt.cifar100_size(cifar, split="val")
    bare = open_dataset("cub", root=fixtures["cub"], attributes=False, captions="none")
    with pytest.raises(PcclipError, match="no attribute annotations"):
        rt.cub_attributes(bare)
    with pytest.raises(PcclipError, match="has no captions"):
        rt.cub_captions(bare)


def test_pairs_identical_across_processes(fixtures: dict[str, Path]) -> None:
    """Pairs depend only on (dataset, task, split, seed, n_pairs): not on hash randomisation or the process."""
    import os
    import subprocess
    import sys

    code = (
        "import hashlib, sys\n"
        "from pcclip.data.registry import open_dataset\n"
        "from pcclip.data.real_tasks import build_task\n"
        "out = []\n"
        "for kind, root, name in [('awa2', sys.argv[1], 'awa2_attributes'), ('cub', sys.argv[2], 'cub_attributes'),"
        " ('cub', sys.argv[2], 'cub_captions'), ('flowers102', sys.argv[3], 'flowers102_color')]:\n"
        "    t = build_task(open_dataset(kind, root=root), name, seed=4, n_pairs=30)\n"
        "    out += [(p.a, p.b, p.sentence) for p in t.pairs]\n"
        "print(hashlib.sha256(repr(out).encode()).hexdigest())\n"
    )
    args = [str(fixtures["awa2"]), str(fixtures["cub"]), str(fixtures["flowers102"])]
    digests = set()
    for hashseed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        digests.add(out.stdout.strip())
    assert len(digests) == 1
