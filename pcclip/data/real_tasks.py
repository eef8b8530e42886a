"""The paper's difference-based classification tasks on real datasets, as `DiffTask`s.

A pair (a, b) with sentence s is scored correct iff cos(text(s), norm(norm(img a) - norm(img b))) > 0, which
is the same as preferring the true order over the reversed one: chance is 0.5 for every task here.
Pairs are deterministic for a (dataset, task, split, seed, n_pairs): the 5 evaluation seeds give 5
different pair samples. Task names are stored as "diff/<name>". See docs/datasets.md for the choices.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from pcclip.data.base import Dataset, DiffPair, DiffTask, Item
from pcclip.errors import PcclipError

# --- AwA2 -----------------------------------------------------------------------------------------------
#: Predicates kept (appearance: colour, coat, build, body parts), with the phrase used in sentences.
AWA2_VISUAL = {
    "black": "black", "white": "white", "blue": "blue", "brown": "brown", "gray": "gray", "orange": "orange",
    "red": "red", "yellow": "yellow", "patches": "patches", "spots": "spots", "stripes": "stripes",
    "furry": "furry", "hairless": "hairless", "toughskin": "tough skin", "big": "big", "small": "small",
    "bulbous": "bulbous", "lean": "lean", "flippers": "flippers", "hands": "hands", "hooves": "hooves",
    "pads": "pads", "paws": "paws", "longleg": "long legs", "longneck": "long neck", "tail": "tail",
    "buckteeth": "buck teeth", "horns": "horns", "claws": "claws", "tusks": "tusks", "muscle": "muscular",
    "bipedal": "bipedal", "quadrapedal": "quadrupedal",
}  # fmt: skip
#: Predicates removed as not visible in a photo: smell, teeth function, behaviour, movement, diet, habitat,
#: character, social life. (The public code's filter lists 1-based ids but indexes 0-based, so it removes
#: the neighbour of each attribute it meant to; filtering by name avoids that.)
_NON_VISUAL = (
    "smelly chewteeth meatteeth strainteeth flys hops swims tunnels walks fast slow strong weak active inactive "
    "nocturnal hibernate agility fish meat plankton vegetation insects forager grazer hunter scavenger skimmer "
    "stalker newworld oldworld arctic coastal desert bush plains forest fields jungle mountains ocean ground "
    "water tree cave fierce timid smart group solitary nestspot domestic"
)
AWA2_NON_VISUAL: tuple[str, ...] = tuple(_NON_VISUAL.split())

# --- CIFAR-100 ------------------------------------------------------------------------------------------
CIFAR_LARGE = ("camel", "leopard", "lion", "wolf")
CIFAR_SMALL = ("hamster", "rabbit", "shrew", "squirrel")

# --- Flowers102 -----------------------------------------------------------------------------------------
#: Chosen by name from the Flowers102 class list (0-based label: name), flowers whose blooms are blue / yellow.
FLOWERS_BLUE = {27: "stemless gentian", 9: "globe thistle", 32: "love in the mist", 24: "grape hyacinth",
                34: "alpine sea holly", 44: "bolero deep blue"}  # fmt: skip
FLOWERS_YELLOW = {14: "yellow iris", 15: "globe-flower", 41: "daffodil", 47: "buttercup", 49: "common dandelion",
                  53: "sunflower"}  # fmt: skip

DEFAULT_PAIRS = 1000


def _rng(task: str, split: str, seed: int) -> random.Random:
    return random.Random(f"pcclip-diff:{task}:{split}:{seed}")


def _check_kind(ds: Dataset, kind: str, task: str) -> None:
    if ds.kind != kind:
        raise PcclipError(f"task {task} needs a {kind} dataset, got {ds.kind or type(ds).__name__}")


def _items(ds: Dataset, split: str, task: str) -> Sequence[Item]:
    if split not in ds.splits():
        raise PcclipError(f"task {task}: {ds.name} has no split {split!r}; splits: {', '.join(ds.splits())}")
    return ds.items(split)


def _cross_pairs(group_a: list[int], group_b: list[int], n: int, rng: random.Random) -> list[tuple[int, int]]:
    """Up to `n` distinct (i in A, j in B) pairs, uniformly; all of them when there are fewer than n."""
    total = len(group_a) * len(group_b)
    if total == 0:
        return []
    if total <= 4 * n:
        allp = [(i, j) for i in group_a for j in group_b]
        rng.shuffle(allp)
        return allp[:n]
    seen: set[tuple[int, int]] = set()
    out = []
    while len(out) < n:
        p = (rng.choice(group_a), rng.choice(group_b))
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def _oriented(pairs: list[tuple[int, int]], rng: random.Random, forward: str, backward: str) -> list[DiffPair]:
    """(i from A, j from B) pairs, each shown in a random order with the sentence true for that order."""
    out = []
    for i, j in pairs:
        if rng.random() < 0.5:
            out.append(DiffPair(a=i, b=j, sentence=forward))
        else:
            out.append(DiffPair(a=j, b=i, sentence=backward))
    return out


def _join(words: list[str]) -> str:
    return ", ".join(words)


def _attribute_pairs(
    items: Sequence[Item],
    attrs_of: Callable[[Item], set[str] | None],
    n: int,
    rng: random.Random,
    sentence: Callable[[list[str], list[str]], str],
    max_attributes: int | None,
    order: Callable[[str], Any],
) -> list[DiffPair]:
    """Pairs of items of different classes whose attribute sets differ on both sides; the sentence names
    (up to max_attributes, sampled) attributes of a not b, and of b not a."""
    usable = [it for it in items if attrs_of(it)]
    if len({it.label for it in usable}) < 2:
        return []
    seen: set[tuple[int, int]] = set()
    out: list[DiffPair] = []
    budget = 50 * n + 1000  # bounded rejection sampling: tiny or degenerate data just yields fewer pairs
    while len(out) < n and budget > 0:
        budget -= 1
        a, b = rng.choice(usable), rng.choice(usable)
        if a.label == b.label or (a.index, b.index) in seen:
            continue
        sa, sb = attrs_of(a) or set(), attrs_of(b) or set()
        only_a, only_b = sorted(sa - sb, key=order), sorted(sb - sa, key=order)
        if not only_a or not only_b:
            continue
        seen.add((a.index, b.index))
        if max_attributes is not None:
            only_a = sorted(rng.sample(only_a, min(max_attributes, len(only_a))), key=order)
            only_b = sorted(rng.sample(only_b, min(max_attributes, len(only_b))), key=order)
        out.append(DiffPair(a=a.index, b=b.index, sentence=sentence(only_a, only_b)))
    return out


def awa2_attributes(
    ds: Dataset, split: str = "test", n_pairs: int = DEFAULT_PAIRS, seed: int = 0, max_attributes: int | None = 5
) -> DiffTask:
    """AwA2: images of different classes; "The first image has attributes of {A not B}, while the second
    image has attributes of {B not A}" over visual predicates (class-level annotations)."""
    name = "awa2_attributes"
    _check_kind(ds, "awa2", name)
    items = _items(ds, split, name)
    rank = {p: i for i, p in enumerate(AWA2_VISUAL)}

    def attrs(it: Item) -> set[str] | None:
        preds = (it.attributes or {}).get("predicates") or []
        return {AWA2_VISUAL[p] for p in preds if p in AWA2_VISUAL}

    phrase_rank = {AWA2_VISUAL[p]: r for p, r in rank.items()}
    pairs = _attribute_pairs(
        items, attrs, n_pairs, _rng(name, split, seed),
        lambda a, b: f"The first image has attributes of {_join(a)}, while the second image has attributes of "
        f"{_join(b)}",
        max_attributes, lambda s: phrase_rank.get(s, 999),
    )  # fmt: skip
    return DiffTask(
        name=name, split=split, pairs=pairs, seed=seed,
        description="AwA2 visual attribute differences between animals of different classes",
        meta={"max_attributes": max_attributes, "visual_predicates": list(AWA2_VISUAL)},
    )  # fmt: skip


def _label_ids(ds: Dataset, names: Sequence[str], task: str) -> list[int]:
    classes = ds.classnames or []
    missing = [n for n in names if n not in classes]
    if missing:
        raise PcclipError(f"task {task}: classes {', '.join(missing)} not in {ds.name}'s class names")
    return [classes.index(n) for n in names]


def cifar100_size(ds: Dataset, split: str = "test", n_pairs: int = DEFAULT_PAIRS, seed: int = 0) -> DiffTask:
    """CIFAR-100: a large animal (camel, leopard, lion, wolf) against a small one (hamster, rabbit, shrew,
    squirrel), in random order."""
    name = "cifar100_size"
    _check_kind(ds, "cifar100", name)
    large, small = set(_label_ids(ds, CIFAR_LARGE, name)), set(_label_ids(ds, CIFAR_SMALL, name))
    items = _items(ds, split, name)
    rng = _rng(name, split, seed)
    pairs = _cross_pairs(
        [it.index for it in items if it.label in large], [it.index for it in items if it.label in small], n_pairs, rng
    )
    return DiffTask(
        name=name, split=split, seed=seed,
        pairs=_oriented(pairs, rng,
                        "The first image contains a larger animal, while the second contains a smaller animal",
                        "The first image contains a smaller animal, while the second contains a larger animal"),
        description="CIFAR-100 size: camel/leopard/lion/wolf vs hamster/rabbit/shrew/squirrel",
        meta={"large": list(CIFAR_LARGE), "small": list(CIFAR_SMALL)},
    )  # fmt: skip


def flowers102_color(ds: Dataset, split: str = "test", n_pairs: int = DEFAULT_PAIRS, seed: int = 0) -> DiffTask:
    """Flowers102: a blue flower against a yellow one (classes picked by name, see FLOWERS_BLUE/YELLOW)."""
    name = "flowers102_color"
    _check_kind(ds, "flowers102", name)
    classes = ds.classnames or []
    for label, flower in {**FLOWERS_BLUE, **FLOWERS_YELLOW}.items():
        if label >= len(classes) or classes[label] != flower:
            raise PcclipError(f"task {name}: class {label} of {ds.name} is not {flower!r}; class list mismatch")
    items = _items(ds, split, name)
    rng = _rng(name, split, seed)
    pairs = _cross_pairs(
        [it.index for it in items if it.label in FLOWERS_BLUE],
        [it.index for it in items if it.label in FLOWERS_YELLOW], n_pairs, rng,
    )  # fmt: skip
    return DiffTask(
        name=name, split=split, seed=seed,
        pairs=_oriented(pairs, rng, "The first flower is blue, while the second is yellow",
                        "The first flower is yellow, while the second is blue"),
        description="Flowers102 colour: blue vs yellow flower classes",
        meta={"blue": dict(FLOWERS_BLUE), "yellow": dict(FLOWERS_YELLOW)},
    )  # fmt: skip


def cub_attribute_phrase(attribute: str) -> str:
    """'has_wing_color::blue' -> 'blue wing'; 'has_bill_shape::curved_(up_or_down)' -> 'curved bill';
    'has_size::small_(5_-_9_in)' -> 'small size'; 'has_tail_pattern::striped' -> 'striped tail';
    'has_tail_shape::forked_tail' -> 'forked tail'."""
    group, _, value = attribute.partition("::")
    value = value.split("_(")[0].replace("_", " ").strip()
    part = group.removeprefix("has_")
    for suffix in ("_color", "_pattern", "_shape", "_length"):
        if part.endswith(suffix) and part != suffix.strip("_"):
            part = part[: -len(suffix)]
            break
    part = part.replace("_", " ")
    if part and part in value.replace("-", " "):  # 'has_tail_shape::forked_tail', 'has_wing_shape::rounded-wings'
        return value.replace("-", " ")
    if part == "primary":
        return f"mostly {value} body"
    if part in ("size", "shape"):
        return f"{value} {part}"
    if group.endswith("_length"):
        return f"{part} {value}"
    return f"{value} {part}"


def cub_attributes(
    ds: Dataset, split: str = "test", n_pairs: int = DEFAULT_PAIRS, seed: int = 0, max_attributes: int | None = 4
) -> DiffTask:
    """CUB held-out (test) images of different species: "The first bird has {A not B}, while the second bird
    has {B not A}", from the per-image attribute annotations (present with the adapter's min_certainty)."""
    name = "cub_attributes"
    _check_kind(ds, "cub", name)
    items = _items(ds, split, name)
    if not any((it.attributes or {}).get("cub_attributes") for it in items):
        raise PcclipError(
            f"task {name}: {ds.name} has no attribute annotations (attributes/image_attribute_labels.txt)"
        )

    def attrs(it: Item) -> set[str] | None:
        return {cub_attribute_phrase(a) for a in (it.attributes or {}).get("cub_attributes") or []}

    pairs = _attribute_pairs(
        items, attrs, n_pairs, _rng(name, split, seed),
        lambda a, b: f"The first bird has {_join(a)}, while the second bird has {_join(b)}",
        max_attributes, lambda s: s,
    )  # fmt: skip
    return DiffTask(
        name=name, split=split, pairs=pairs, seed=seed,
        description="CUB attribute differences between held-out birds of different species",
        meta={"max_attributes": max_attributes},
    )  # fmt: skip


def caption_pairs(ds: Dataset, split: str = "test", n_pairs: int = DEFAULT_PAIRS, seed: int = 0) -> list[
    tuple[int, int, str, str]
]:
    """(a, b, caption a, caption b) for held-out images of different classes: the input from which an LLM
    writes the paper's CUB test comparisons (one caption per image, drawn with the seed)."""
    items = [it for it in _items(ds, split, "caption pairs") if (it.attributes or {}).get("captions") or it.caption]
    rng = _rng("caption_pairs", split, seed)
    seen: set[tuple[int, int]] = set()
    out: list[tuple[int, int, str, str]] = []
    budget = 50 * n_pairs + 1000
    while len(out) < n_pairs and budget > 0 and len(items) > 1:
        budget -= 1
        a, b = rng.choice(items), rng.choice(items)
        if a.index == b.index or (a.label is not None and a.label == b.label) or (a.index, b.index) in seen:
            continue
        seen.add((a.index, b.index))
        ca = rng.choice((a.attributes or {}).get("captions") or [a.caption])
        cb = rng.choice((b.attributes or {}).get("captions") or [b.caption])
        out.append((a.index, b.index, ca, cb))
    return out


def _clause(caption: str) -> str:
    return " ".join(caption.strip().rstrip(".").split())


def cub_captions(ds: Dataset, split: str = "test", n_pairs: int = DEFAULT_PAIRS, seed: int = 0) -> DiffTask:
    """CUB held-out captions, no LLM: "The first bird: {caption a}; the second bird: {caption b}". A stand-in
    for the paper's LLM-written test comparisons (use `caption_pairs` to have an LLM write those)."""
    name = "cub_captions"
    _check_kind(ds, "cub", name)
    pairs = [
        DiffPair(a=a, b=b, sentence=f"The first bird: {_clause(ca)}; the second bird: {_clause(cb)}")
        for a, b, ca, cb in caption_pairs(ds, split, n_pairs, seed)
    ]
    if not pairs:
        raise PcclipError(f"task {name}: {ds.name} split {split} has no captions (Reed et al.'s text_c10)")
    return DiffTask(
        name=name, split=split, pairs=pairs, seed=seed,
        description="CUB held-out captions of two birds of different species, in order",
    )  # fmt: skip


#: task name -> (dataset kind, builder)
TASKS: dict[str, tuple[str, Callable[..., DiffTask]]] = {
    "awa2_attributes": ("awa2", awa2_attributes),
    "cifar100_size": ("cifar100", cifar100_size),
    "flowers102_color": ("flowers102", flowers102_color),
    "cub_attributes": ("cub", cub_attributes),
    "cub_captions": ("cub", cub_captions),
}


def supported_tasks(ds: Dataset) -> list[str]:
    """Names of the difference tasks that can be built from `ds` (by its kind)."""
    return [name for name, (kind, _) in TASKS.items() if kind == ds.kind]


def build_task(ds: Dataset, name: str, seed: int = 0, n_pairs: int = DEFAULT_PAIRS, split: str = "test",
               **kwargs: Any) -> DiffTask:
    """Build difference task `name` on `ds` (see TASKS)."""
    if name not in TASKS:
        raise PcclipError(f"unknown difference task {name!r}; known: {', '.join(TASKS)}")
    return TASKS[name][1](ds, split=split, n_pairs=n_pairs, seed=seed, **kwargs)
