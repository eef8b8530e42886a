"""The testbed's difference-classification tasks, built like the paper's from the TEST split.

EVALUATION-ONLY TEMPLATES. The sentences below are used for evaluation and nowhere else: never to make training
comparisons. The oracle comparison backend (`pcclip.llm.template_backend`) writes its own, different phrasings, and
the pretraining captions (`pcclip.data.testbed_world`) are plain scene descriptions. Keep the three disjoint.

Every task: a pair (a, b) of test images and a sentence true of a relative to b; correct iff
cos(text(s), normalize(normalize(img a) - normalize(img b))) > 0. Chance is 0.5 for every task (the reversed
order is the only alternative), whatever the sentence.

BALANCED SENTENCE ORDER. Each task has two mirror templates: one names the first image first ("The first shape is
blue, while the second is yellow"), the other names the second image first ("The second shape is yellow, while the
first is blue"); pairs alternate between them (pair i uses order i % 2). A text tower that only weights whichever
property is named first (a bag-of-words reading that ignores "first"/"second") scores exactly 50% that way, so the
tasks measure whether the model links each property to the right image, not the sentence's word order. Measured on
the default base model before this change (first-named-first only): colour 78.5%, attributes 72.6%: that lead came
from word order, not from relational understanding.

- attributes (AwA2-style): pairs of different classes (colour x shape); "The first image has attributes of
  {A not B}, while the second image has attributes of {B not A}" / its mirror.
- size (CIFAR-100-size-style): one image with small objects, one with large; "The first image contains a larger
  shape, while the second contains a smaller shape" (or the reverse, as the pair's order says) / its mirror.
- color (Flowers-colour-style): one blue image, one yellow image; "The first shape is blue, while the second is
  yellow" (or the reverse) / its mirror.
- captions (CUB-style): any two different scenes; a comparison written from the two records with evaluation-only
  templates, either of image one relative to image two ("Relative to image two, image one features ...") or of
  image two relative to image one ("Relative to image one, image two features ..."): both are true of (a, b).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from pcclip.data.base import DiffPair, DiffTask
from pcclip.data.testbed_world import ATTRIBUTES, PLURALS, SceneRecord
from pcclip.errors import PcclipError

if TYPE_CHECKING:
    from pcclip.data.testbed import TestbedDataset

CHANCE = 0.5
TASK_NAMES: tuple[str, ...] = ("attributes", "size", "color", "captions")

# --- evaluation-only templates (see module docstring) ----------------------------------------------------------
# Index 0 names the first image first, index 1 its mirror names the second image first (see BALANCED SENTENCE ORDER).
AWA2_TEMPLATES = (
    "The first image has attributes of {a}, while the second image has attributes of {b}",
    "The second image has attributes of {b}, while the first image has attributes of {a}",
)
# key: (is the first image's shape the larger one?, order)
SIZE_TEMPLATES = {
    (True, 0): "The first image contains a larger shape, while the second contains a smaller shape",
    (False, 0): "The first image contains a smaller shape, while the second contains a larger shape",
    (True, 1): "The second image contains a smaller shape, while the first contains a larger shape",
    (False, 1): "The second image contains a larger shape, while the first contains a smaller shape",
}
COLOR_PAIR = ("blue", "yellow")
COLOR_TEMPLATES = ("The first shape is {a}, while the second is {b}", "The second shape is {b}, while the first is {a}")
# Order 0: image one relative to image two (clauses of a vs b); order 1: image two relative to image one (b vs a).
CAPTION_TEMPLATES = (
    ("Relative to image two, image one features {clauses}.", "Image one, unlike image two, displays {clauses}."),
    ("Relative to image one, image two features {clauses}.", "Image two, unlike image one, displays {clauses}."),
)
_COUNT_PHRASE = {1: "one object", 2: "two objects", 3: "three objects"}


def attribute_words(rec: SceneRecord, vary: tuple[str, ...]) -> dict[str, str]:
    """Attribute -> the word the AwA2-style sentence uses for it (only varying attributes)."""
    out = {}
    for attr in ATTRIBUTES:
        if attr not in vary:
            continue
        v = rec.value(attr)
        out[attr] = _COUNT_PHRASE.get(v, str(v)) if attr == "count" else str(v)
    return out


def _caption_clause(attr: str, a: SceneRecord, b: SceneRecord) -> str:
    va, vb = a.value(attr), b.value(attr)
    order = ATTRIBUTES[attr]
    up = order.index(va) > order.index(vb)
    if attr == "color":
        return f"{va} coloring (not {vb})"
    if attr == "shape":
        return f"{PLURALS[va]} in place of {PLURALS[vb]}"
    if attr == "size":
        return "objects of greater size" if up else "objects of lesser size"
    if attr == "count":
        return "a higher object count" if up else "a lower object count"
    if attr == "position":
        return "a layout shifted rightward" if up else "a layout shifted leftward"
    if attr == "fill":
        return "solid-filled shapes instead of outlines" if va == "solid" else "outlined shapes instead of solid fills"
    raise ValueError(attr)


def caption_sentence(a: SceneRecord, b: SceneRecord, vary: tuple[str, ...], template: int = 0,
                     order: int = 0) -> str:
    """A CUB-style evaluation comparison true of `a` relative to `b` (all differing attributes, fixed attribute
    order). `order` 0 describes image one against image two; 1 describes image two against image one."""
    diffs = [attr for attr in ATTRIBUTES if attr in vary and a.value(attr) != b.value(attr)]
    if not diffs:
        raise ValueError("the two scenes do not differ")
    subject, other = (a, b) if order == 0 else (b, a)
    clauses = [_caption_clause(attr, subject, other) for attr in diffs]
    joined = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]
    return CAPTION_TEMPLATES[order][template].format(clauses=joined)


def awa2_sentence(a: SceneRecord, b: SceneRecord, vary: tuple[str, ...], order: int = 0) -> str:
    wa, wb = attribute_words(a, vary), attribute_words(b, vary)
    only_a = [w for k, w in wa.items() if wb.get(k) != w]
    only_b = [w for k, w in wb.items() if wa.get(k) != w]
    return AWA2_TEMPLATES[order].format(a=", ".join(only_a), b=", ".join(only_b))


def size_sentence(a: SceneRecord, order: int = 0) -> str:
    """True of a small-vs-large pair (a, b), given a's size."""
    return SIZE_TEMPLATES[(a.size == "large", order)]


def color_sentence(a: SceneRecord, b: SceneRecord, order: int = 0) -> str:
    return COLOR_TEMPLATES[order].format(a=a.color, b=b.color)


def _sample_pairs(
    rng: np.random.Generator, n: int, n_pairs: int, ok: Callable[[int, int], bool], max_tries: int = 200
) -> list[tuple[int, int]]:
    """Up to `n_pairs` distinct ordered pairs (a != b) accepted by `ok`; rejection sampling, seeded."""
    seen: set[tuple[int, int]] = set()
    out: list[tuple[int, int]] = []
    tries = 0
    while len(out) < n_pairs and tries < max_tries * max(1, n_pairs):
        tries += 1
        a, b = (int(v) for v in rng.integers(n, size=2))
        if a == b or (a, b) in seen or (b, a) in seen or not ok(a, b):
            continue
        seen.add((a, b))
        out.append((a, b))
    return out


def build_diff_tasks(ds: TestbedDataset, seed: int, n_pairs: int = 500) -> list[DiffTask]:
    """The four testbed tasks on the test split for one pair-sampling seed. A task the config cannot support
    (e.g. size held fixed) is left out; each task has chance level 0.5."""
    if n_pairs < 1:
        raise PcclipError(f"n_pairs must be at least 1 (got {n_pairs})")
    recs = ds.records("test")
    vary = ds.cfg.vary
    n = len(recs)
    tasks: list[DiffTask] = []

    def rng_for(name: str) -> np.random.Generator:
        return np.random.default_rng([seed, TASK_NAMES.index(name), 4242])

    # attributes (AwA2): different classes
    pairs = _sample_pairs(rng_for("attributes"), n, n_pairs,
                          lambda a, b: (recs[a].color, recs[a].shape) != (recs[b].color, recs[b].shape))
    if pairs:
        tasks.append(DiffTask(
            name="attributes", split="test", seed=seed, chance=CHANCE,
            pairs=[DiffPair(a, b, awa2_sentence(recs[a], recs[b], vary, i % 2)) for i, (a, b) in enumerate(pairs)],
            description="AwA2-style attribute sets of two images of different colour-shape classes",
            meta={"templates": list(AWA2_TEMPLATES)},
        ))

    # size (CIFAR-100 size): small vs large, in either order
    if "size" in vary:
        pairs = _sample_pairs(rng_for("size"), n, n_pairs,
                              lambda a, b: {recs[a].size, recs[b].size} == {"small", "large"})
        if pairs:
            tasks.append(DiffTask(
                name="size", split="test", seed=seed, chance=CHANCE,
                pairs=[DiffPair(a, b, size_sentence(recs[a], i % 2)) for i, (a, b) in enumerate(pairs)],
                description="CIFAR-100-size-style: small vs large objects",
                meta={"templates": list(SIZE_TEMPLATES.values())},
            ))

    # colour (Flowers102 blue vs yellow)
    if "color" in vary:
        pairs = _sample_pairs(rng_for("color"), n, n_pairs,
                              lambda a, b: {recs[a].color, recs[b].color} == set(COLOR_PAIR))
        if pairs:
            tasks.append(DiffTask(
                name="color", split="test", seed=seed, chance=CHANCE,
                pairs=[DiffPair(a, b, color_sentence(recs[a], recs[b], i % 2)) for i, (a, b) in enumerate(pairs)],
                description="Flowers102-colour-style: blue vs yellow",
                meta={"templates": list(COLOR_TEMPLATES), "colors": list(COLOR_PAIR)},
            ))

    # captions (CUB): held-out comparisons from the two records, evaluation-only templates
    rng = rng_for("captions")
    pairs = _sample_pairs(rng, n, n_pairs, lambda a, b: any(recs[a].value(k) != recs[b].value(k) for k in vary))
    if pairs:
        choice = rng.integers(len(CAPTION_TEMPLATES[0]), size=len(pairs))
        tasks.append(DiffTask(
            name="captions", split="test", seed=seed, chance=CHANCE,
            pairs=[DiffPair(a, b, caption_sentence(recs[a], recs[b], vary, int(t), i % 2))
                   for i, ((a, b), t) in enumerate(zip(pairs, choice))],
            description="CUB-style comparisons written from held-out test records with evaluation-only templates",
            meta={"templates": [t for pair in CAPTION_TEMPLATES for t in pair]},
        ))
    return tasks
