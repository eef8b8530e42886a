"""Builders of tiny datasets in the exact on-disk formats of the real releases (file names, line formats,
pickle keys, .mat variables), for the dataset adapter tests."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
from PIL import Image

COLORS = [(220, 40, 40), (40, 200, 60), (50, 60, 220), (230, 210, 40), (120, 60, 160), (30, 30, 30)]


def write_image(path: Path, seed: int, size: int = 16, fmt: str | None = None) -> Path:
    """A small deterministic picture (coloured noise) as JPEG or PNG, chosen by suffix unless `fmt`."""
    rng = np.random.default_rng(seed)
    arr = (rng.integers(0, 60, (size, size, 3)) + np.array(COLORS[seed % len(COLORS)]) // 2).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, format=fmt)
    return path


def truncate(path: Path) -> Path:
    """Cut a file in half (a download that stopped midway)."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def make_imagefolder(root: Path, classes: tuple[str, ...] = ("cat", "dog", "red_fox"), per_class: int = 4,
                     splits: tuple[str, ...] = ()) -> Path:
    seed = 0
    for split in splits or ("",):
        for c in classes:
            for i in range(per_class):
                base = root / split / c if split else root / c
                write_image(base / f"{c}_{i}.{'png' if i % 2 else 'jpg'}", seed)
                seed += 1
    (root / classes[0] if not splits else root / splits[0] / classes[0]).joinpath("notes.txt").write_text("x")
    return root


def make_csv(root: Path) -> Path:
    rows = ["path,caption,label,split,source"]
    for i in range(6):
        write_image(root / "imgs" / f"{i}.png", i)
        label = "circle" if i % 2 else "square"
        split = "train" if i < 4 else "test"
        rows.append(f'imgs/{i}.png,"a {label}, number {i}",{label},{split},synthetic')
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root / "manifest.csv"


def make_coco(root: Path, n_train: int = 5, n_val: int = 3) -> Path:
    ann_id = 100
    for split, n in (("train", n_train), ("val", n_val)):
        images, anns = [], []
        for k in range(n):
            image_id = 1000 * (split == "val") + 7 * k + 9
            name = f"{image_id:012d}.jpg"
            write_image(root / f"{split}2017" / name, image_id)
            images.append({"license": 1, "file_name": name, "coco_url": "", "height": 16, "width": 16,
                           "date_captured": "2013-11-14 17:02:52", "flickr_url": "", "id": image_id})
            for c in range(5):  # ids deliberately not in caption order
                anns.append({"image_id": image_id, "id": ann_id + (4 - c), "caption": f"{split} image {k} caption {c}"})
            ann_id += 5
        images.append({"license": 1, "file_name": "no_captions.jpg", "height": 1, "width": 1, "id": 5})
        doc = {"info": {"description": "COCO 2017 Dataset"}, "licenses": [], "images": images, "annotations": anns}
        (root / "annotations").mkdir(parents=True, exist_ok=True)
        (root / "annotations" / f"captions_{split}2017.json").write_text(json.dumps(doc))
    return root


CUB_CLASSES = ["001.Black_footed_Albatross", "002.Laysan_Albatross", "017.Cardinal"]
CUB_ATTRIBUTES = [
    "has_bill_shape::curved_(up_or_down)", "has_bill_shape::dagger", "has_wing_color::blue",
    "has_wing_color::red", "has_upperparts_color::black", "has_size::small_(5_-_9_in)",
    "has_primary_color::yellow", "has_tail_pattern::striped",
]


def make_cub(root: Path, per_class: int = 4, text: bool = True) -> Path:
    """CUB_200_2011/ with 3 classes x `per_class` images, attributes.txt beside it, and text_c10/ captions."""
    cub = root / "CUB_200_2011"
    images, labels, split, attr_lines = [], [], [], []
    image_id = 0
    for ci, cname in enumerate(CUB_CLASSES, start=1):
        for k in range(per_class):
            image_id += 1
            fname = f"{cname.split('.', 1)[1]}_{k:04d}_{1000 + image_id}.jpg"
            rel = f"{cname}/{fname}"
            write_image(cub / "images" / rel, image_id)
            images.append(f"{image_id} {rel}")
            labels.append(f"{image_id} {ci}")
            split.append(f"{image_id} {1 if k % 2 == 0 else 0}")
            for aid in range(1, len(CUB_ATTRIBUTES) + 1):
                # class ci has attributes ci, ci+3 (definitely) and ci+1 (guessing only)
                present = int(aid in (ci, ci + 3, ci + 1))
                certainty = 2 if aid == ci + 1 else 4
                extra = " 0" if (image_id, aid) == (2, 3) else ""  # the real file has a few 6-column lines
                attr_lines.append(f"{image_id} {aid} {present} {certainty} 12.5{extra}")
            if text:
                t = root / "text_c10" / cname / fname.replace(".jpg", ".txt")
                t.parent.mkdir(parents=True, exist_ok=True)
                t.write_text("\n".join(f"this bird {cname.split('.')[1].lower()} number {k} says {j}."
                                       for j in range(10)) + "\n")
    cub.mkdir(parents=True, exist_ok=True)
    (cub / "images.txt").write_text("\n".join(images) + "\n")
    (cub / "image_class_labels.txt").write_text("\n".join(labels) + "\n")
    (cub / "train_test_split.txt").write_text("\n".join(split) + "\n")
    (cub / "classes.txt").write_text("\n".join(f"{i} {c}" for i, c in enumerate(CUB_CLASSES, start=1)) + "\n")
    (cub / "attributes").mkdir(exist_ok=True)
    (cub / "attributes" / "image_attribute_labels.txt").write_text("\n".join(attr_lines) + "\n")
    (cub / "attributes" / "certainties.txt").write_text("1 not visible\n2 guessing\n3 probably\n4 definitely\n")
    (root / "attributes.txt").write_text("\n".join(f"{i} {a}" for i, a in enumerate(CUB_ATTRIBUTES, start=1)) + "\n")
    return root


CIFAR_FINE = [f"class_{i}" for i in range(100)]
for _i, _n in {15: "camel", 42: "leopard", 43: "lion", 97: "wolf", 36: "hamster", 65: "rabbit", 74: "shrew",
               80: "squirrel"}.items():
    CIFAR_FINE[_i] = _n


def _py2_style(blob: bytes) -> bytes:
    """The real files were pickled by Python 2 with numpy 1.x: arrays are rebuilt through the old module path."""
    return blob.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def make_cifar100(root: Path, per_class: int = 3) -> Path:
    """cifar-100-python/{train,test,meta} as Python-2-style pickles (protocol 2, str keys)."""
    base = root / "cifar-100-python"
    base.mkdir(parents=True)
    used = [15, 42, 43, 97, 36, 65, 74, 80, 0, 1]
    for split, n in (("train", per_class), ("test", per_class)):
        labels = [c for c in used for _ in range(n)]
        rng = np.random.default_rng(len(split))
        data = rng.integers(0, 256, (len(labels), 3072), dtype=np.uint8)
        data[0, :1024] = 255  # first image: red plane saturated, to check the channel layout
        data[0, 1024:] = 0
        d = {"filenames": [f"{CIFAR_FINE[c]}_s_{i:06d}.png" for i, c in enumerate(labels)],
             "batch_label": f"{split} batch", "fine_labels": labels,
             "coarse_labels": [c % 20 for c in labels], "data": data}
        (base / split).write_bytes(_py2_style(pickle.dumps(d, protocol=2)))
    with open(base / "meta", "wb") as fh:
        pickle.dump({"fine_label_names": CIFAR_FINE, "coarse_label_names": [f"super_{i}" for i in range(20)]},
                    fh, protocol=2)
    return root


def make_flowers102(root: Path, classes: tuple[int, ...] = (28, 10, 15, 42, 25, 16, 1, 3),
                    per_class: int = 3) -> Path:
    """flowers-102/{jpg/, imagelabels.mat, setid.mat}; `classes` are 1-based labels (28 stemless gentian,
    10 globe thistle, 15 yellow iris, 42 daffodil ...)."""
    import scipy.io

    base = root / "flowers-102"
    labels = [c for c in classes for _ in range(per_class)]
    for i in range(1, len(labels) + 1):
        write_image(base / "jpg" / f"image_{i:05d}.jpg", i)
    scipy.io.savemat(str(base / "imagelabels.mat"), {"labels": np.array([labels], dtype=np.uint8)})
    ids = np.arange(1, len(labels) + 1)
    # test holds every image, so that every class is in it (the real tstid is disjoint from trnid/valid)
    scipy.io.savemat(str(base / "setid.mat"), {
        "trnid": ids[ids % 3 == 1][None, :].astype(np.uint16),
        "valid": ids[ids % 3 == 2][None, :].astype(np.uint16),
        "tstid": ids[None, :].astype(np.uint16)})
    return root


_PREDICATES = (
    "black white blue brown gray orange red yellow patches spots stripes furry hairless toughskin big small bulbous "
    "lean flippers hands hooves pads paws longleg longneck tail chewteeth meatteeth buckteeth strainteeth horns "
    "claws tusks smelly flys hops swims tunnels walks fast slow strong weak muscle bipedal quadrapedal active "
    "inactive nocturnal hibernate agility fish meat plankton vegetation insects forager grazer hunter scavenger "
    "skimmer stalker newworld oldworld arctic coastal desert bush plains forest fields jungle mountains ocean "
    "ground water tree cave fierce timid smart group solitary nestspot domestic"
)
AWA_PREDICATES = tuple(_PREDICATES.split())
AWA_CLASSES = ["antelope", "grizzly+bear", "killer+whale", "dalmatian"]


def make_awa2(root: Path, per_class: int = 3) -> Path:
    base = root / "Animals_with_Attributes2"
    base.mkdir(parents=True)
    (base / "classes.txt").write_text("".join(f"{i:>6}\t{c}\n" for i, c in enumerate(AWA_CLASSES, start=1)))
    (base / "predicates.txt").write_text("".join(f"{i:>6}\t{p}\n" for i, p in enumerate(AWA_PREDICATES, start=1)))
    on = {
        "antelope": {"brown", "white", "hooves", "longleg", "tail", "horns", "fast", "grazer", "big"},
        "grizzly+bear": {"brown", "furry", "claws", "paws", "big", "hunter", "smelly", "solitary"},
        "killer+whale": {"black", "white", "flippers", "hairless", "big", "swims", "ocean", "fish"},
        "dalmatian": {"black", "white", "spots", "furry", "tail", "paws", "domestic", "fast"},
    }
    rows = [" ".join("1" if p in on[c] else "0" for p in AWA_PREDICATES) for c in AWA_CLASSES]
    (base / "predicate-matrix-binary.txt").write_text("\n".join(rows) + "\n")
    (base / "trainclasses.txt").write_text("antelope\ngrizzly+bear\n")
    (base / "testclasses.txt").write_text("killer+whale\ndalmatian\n")
    seed = 0
    for c in AWA_CLASSES:
        for k in range(per_class):
            seed += 1
            write_image(base / "JPEGImages" / c / f"{c}_{10001 + k}.jpg", seed)
    return root


EUROSAT = ("AnnualCrop", "Forest", "HerbaceousVegetation", "Highway", "Industrial", "Pasture", "PermanentCrop",
           "Residential", "River", "SeaLake")


def make_eurosat(root: Path, per_class: int = 2, folder: str = "2750") -> Path:
    seed = 0
    for c in EUROSAT:
        for k in range(1, per_class + 1):
            seed += 1
            write_image(root / folder / c / f"{c}_{k}.jpg", seed, size=64)
    return root


SUN_CLASSES = ["/a/abbey", "/a/apartment_building/outdoor", "/b/bakery/shop", "/b/beach"]


def make_sun397(root: Path, per_class: int = 4) -> Path:
    base = root / "SUN397"
    (base).mkdir(parents=True)
    (base / "ClassName.txt").write_text("\n".join(SUN_CLASSES) + "\n")
    train, test = [], []
    seed = 0
    for c in SUN_CLASSES:
        for k in range(per_class):
            seed += 1
            rel = f"{c}/sun_{chr(97 + k)}{seed:04d}.jpg"
            write_image(base / rel.lstrip("/"), seed)
            (train if k % 2 == 0 else test).append(rel)
    parts = root / "Partitions"
    parts.mkdir()
    (parts / "Training_01.txt").write_text("\n".join(train) + "\n")
    (parts / "Testing_01.txt").write_text("\n".join(test) + "\n")
    return root
