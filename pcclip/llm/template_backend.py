"""The attribute oracle: TRUE comparisons of image i relative to image j, written from the items' attribute records.

It reads records, not captions, so `generate_pool` hands it the item pairs (`needs_items = True`) instead of only
prompts. The phrasing is varied on purpose (several clause forms per attribute, synonyms, clause order, openers):
natural, varied comparisons train far better than one stiff template. Its wording is its own, disjoint from the
pretraining captions (`pcclip.data.testbed_world`) and the evaluation sentences (`pcclip.data.testbed_tasks`).

Every clause names both images ("the first ..." / "the second ...") and joins their halves with one connective
(while, whereas, than, but, rather than, instead of, compared with), so each half states facts about the image it
names; tests check every sentence against the records that way.

The choice of phrasing is seeded by (version, sampling seed, i, j): the same pair always reads the same.

Versions. `oracle-v1` names the first image first in most clause forms (3 of 4 colour forms, for instance), so a
text encoder trained on it can fit it with a word-order rule ("the first-named property belongs to the first
image") instead of binding each property to "first"/"second"; on the testbed it did exactly that (colour pairs
87.6% when the evaluation sentence names the first image first, 7.6% when it names the second image first).
`oracle-v2` (the default) writes each clause from either image's side with equal probability ("the second image
shows yellow shapes while the first image shows blue ones"), so word order carries no signal and only the binding
does. Both stay reproducible: a pool records its version.
"""

from __future__ import annotations

import random
import re
import time
from typing import Any

from pcclip.data.base import Item
from pcclip.errors import PcclipError
from pcclip.hashing import stable_hash
from pcclip.llm.base import Generation, SamplingParams
from pcclip.llm.config import ORACLE_VERSIONS

NOUNS = ("image", "picture", "photo", "scene")  # "the first {noun}" / "the second {noun}"
OPENERS = ("", "", "Looking at both pictures, ", "At a glance, ", "Side by side, ", "Visually, ")

_SHAPE_PLURAL = {
    "circle": ("circles", "discs", "round dots"),
    "square": ("squares", "blocks"),
    "triangle": ("triangles",),
    "star": ("stars", "five-pointed stars"),
}
_SHAPE_SINGULAR = {
    "circle": ("circle", "disc"),
    "square": ("square", "block"),
    "triangle": ("triangle",),
    "star": ("star",),
}
_COLOR = {
    "red": ("red", "crimson"),
    "orange": ("orange", "amber"),
    "yellow": ("yellow", "golden"),
    "green": ("green",),
    "blue": ("blue", "azure"),
    "purple": ("purple", "violet"),
}
_SIZE = {"small": ("small", "little", "tiny"), "medium": ("medium-sized", "mid-sized"), "large": ("large", "big")}
_SIZE_ORDER = ("small", "medium", "large")
_SIZE_CMP = {True: ("larger", "bigger"), False: ("smaller", "tinier")}  # key: is the subject higher?
_COUNT = {1: ("a single", "one"), 2: ("two", "a pair of"), 3: ("three",)}
_COUNT_BARE = {1: ("one",), 2: ("two",), 3: ("three",)}
_COUNT_CMP = {True: ("more",), False: ("fewer",)}
_POS = {"left": ("on the left", "on the left side"), "center": ("in the middle", "in the center"),
        "right": ("on the right", "on the right-hand side")}
_POS_ORDER = ("left", "center", "right")
_POS_CMP = {True: ("further right", "more to the right"), False: ("further left", "more to the left")}
_FILL = {"solid": ("solid", "filled-in"), "outlined": ("hollow", "outlined", "unfilled")}
_ATTR_NOUN = {"shape": "shape", "color": "colour", "size": "size", "count": "number of objects",
              "position": "placement", "fill": "fill"}
KNOWN = ("shape", "color", "size", "count", "position", "fill")
# Record keys that describe how the scene is drawn, not what it shows.
# Record keys that are not visual attributes: how a testbed scene is drawn, and text that rides along (CUB).
_SKIP_KEYS = {"rgb", "background", "objects", "caption", "captions"}


def _noun(rec: dict[str, Any], r: random.Random) -> str:
    """e.g. "two big stars" / "a single disc": count-aware, true of the record."""
    count = int(rec["count"])
    word = r.choice(_COUNT[count]) if count in _COUNT else str(count)
    nouns = _SHAPE_SINGULAR if count == 1 else _SHAPE_PLURAL
    return f"{word} {r.choice(nouns.get(rec['shape'], (rec['shape'],)))}"


def _clause(attr: str, a: dict[str, Any], b: dict[str, Any], F: str, S: str, r: random.Random) -> str:
    va, vb = a[attr], b[attr]
    c = r.choice
    if attr == "color" and va in _COLOR and vb in _COLOR:
        ca, cb = c(_COLOR[va]), c(_COLOR[vb])
        return c((
            f"{F} shows {ca} shapes while {S} shows {cb} ones",
            f"the shapes in {F} are {ca} whereas those in {S} are {cb}",
            f"{F} is mostly {ca} rather than {cb} like {S}",
            f"{S} has {cb} shapes, but {F} has {ca} ones",
        ))
    if attr == "shape" and va in _SHAPE_PLURAL and vb in _SHAPE_PLURAL:
        pa, pb = c(_SHAPE_PLURAL[va]), c(_SHAPE_PLURAL[vb])
        return c((
            f"{F} contains {_noun(a, r)} instead of the {pb} in {S}",
            f"{F} is made of {pa} while {S} is made of {pb}",
            f"the objects in {F} are {pa}, whereas {S} has {pb}",
        ))
    if attr == "size" and va in _SIZE_ORDER and vb in _SIZE_ORDER:
        up = _SIZE_ORDER.index(va) > _SIZE_ORDER.index(vb)
        return c((
            f"the shapes in {F} are {c(_SIZE_CMP[up])} than the ones in {S}",
            f"{F} has {c(_SIZE[va])} shapes, while the ones in {S} are {c(_SIZE[vb])}",
            f"{S} shows {c(_SIZE_CMP[not up])} shapes than {F}",
        ))
    if attr == "count" and va in _COUNT_BARE and vb in _COUNT_BARE:
        up = int(va) > int(vb)
        return c((
            f"{F} holds {_noun(a, r)} while {S} holds {c(_COUNT_BARE[vb])}",
            f"there are {c(_COUNT_CMP[up])} objects in {F} than in {S}",
            f"{F} shows {c(_COUNT_BARE[va])} of them, compared with {c(_COUNT_BARE[vb])} in {S}",
        ))
    if attr == "position" and va in _POS_ORDER and vb in _POS_ORDER:
        up = _POS_ORDER.index(va) > _POS_ORDER.index(vb)
        return c((
            f"the group in {F} sits {c(_POS_CMP[up])} than in {S}",
            f"in {F} the shapes are {c(_POS[va])}, while in {S} they are {c(_POS[vb])}",
        ))
    if attr == "fill" and va in _FILL and vb in _FILL:
        fa, fb = c(_FILL[va]), c(_FILL[vb])
        return c((
            f"the shapes in {F} are {fa} while those in {S} are {fb}",
            f"{F} uses {fa} shapes whereas {S} uses {fb} ones",
        ))
    name = attr.replace("_", " ")
    return f"{F} has {name} {va} whereas {S} has {name} {vb}"


def _scalar_attributes(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k not in _SKIP_KEYS and isinstance(v, (str, int, float, bool))}


def _set_attributes(rec: dict[str, Any]) -> dict[str, set[str]]:
    """List-valued records (e.g. CUB's `cub_attributes`: the attribute names present in the image)."""
    return {
        k: {str(x) for x in v}
        for k, v in rec.items()
        if k not in _SKIP_KEYS and isinstance(v, (list, tuple, set)) and all(isinstance(x, str) for x in v)
    }


def _attr_phrase(name: str) -> str:
    """'has_bill_shape::curved_(up_or_down)' -> 'a curved (up or down) bill shape'-like readable text."""
    name = re.sub(r"^has_", "", name)
    if "::" in name:
        part, value = name.split("::", 1)
        return f"{value.replace('_', ' ')} {part.replace('_', ' ')}".strip()
    return name.replace("_", " ").strip()


def _listing(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _set_clause(only_a: list[str], only_b: list[str], F: str, S: str, r: random.Random) -> str:
    la, lb = _listing(only_a), _listing(only_b)
    if only_a and only_b:
        return r.choice((
            f"{F} shows {la}, while {S} shows {lb}",
            f"{F} has {la} whereas {S} has {lb} instead",
            f"unlike {S}, which shows {lb}, {F} shows {la}",
        ))
    if only_a:
        return r.choice((f"{F} shows {la}, which {S} lacks", f"only {F} has {la}, not {S}"))
    return r.choice((f"{S} shows {lb}, which {F} lacks", f"{F} lacks the {lb} seen in {S}"))


def _compare_sets(a: dict[str, set[str]], b: dict[str, set[str]], r: random.Random) -> tuple[str, list[str]] | None:
    keys = [k for k in a if k in b and a[k] != b[k]]
    if not keys:
        return None
    noun = r.choice(NOUNS)
    F, S = f"the first {noun}", f"the second {noun}"
    clauses = []
    for k in keys:
        only_a = sorted(a[k] - b[k])
        only_b = sorted(b[k] - a[k])
        r.shuffle(only_a)
        r.shuffle(only_b)
        clauses.append(_set_clause([_attr_phrase(x) for x in only_a[:3]], [_attr_phrase(x) for x in only_b[:3]],
                                   F, S, r))
    text = r.choice(OPENERS) + "; ".join(clauses)
    return text[0].upper() + text[1:] + ".", keys


MAX_CLAUSES = 3
MAX_WORDS = 48  # CLIP reads 77 tokens at most: a longer comparison would be cut mid-sentence


def compare_records(a: dict[str, Any], b: dict[str, Any], r: random.Random,
                    mirror: bool = False) -> tuple[str, list[str]]:
    """One comparison of record `a` relative to `b`, and the attributes it states a difference in.

    States up to MAX_CLAUSES of the differences (a random subset: each is true, none is invented); when it
    states them all it may add which attributes the two scenes share. `mirror` (oracle-v2): each clause is written
    from the second image's side with probability 0.5 (still true of the pair: both halves name their image).
    """
    sa, sb = _scalar_attributes(a), _scalar_attributes(b)
    diff = [k for k in sa if k in sb and sa[k] != sb[k]]
    same = [k for k in sa if k in sb and sa[k] == sb[k] and k in KNOWN]
    if not any(k in sa for k in KNOWN):  # not a testbed scene: attribute sets (CUB-like) or other scalars
        seta, setb = _set_attributes(a), _set_attributes(b)
        if not (sa or seta):
            raise PcclipError(
                f"the oracle cannot compare records with keys {', '.join(sorted(a)) or 'none'} (no scalar or "
                "attribute-list fields); use an LLM backend for this dataset"
            )
        if not diff:
            # nothing differs: an empty output, which the pool stores as rejected (never a crash)
            return _compare_sets(seta, setb, r) or ("", [])
    if not diff:
        where = _POS.get(str(a.get("position")), ("",))[0]
        scene = _noun(a, r) if "count" in a and "shape" in a else "the same content"
        text = f"The two images show the same kind of scene, {scene} {where}, with no visible difference between them."
        return " ".join(text.split()).replace(" ,", ","), []
    r.shuffle(diff)
    complete = len(diff) <= MAX_CLAUSES
    diff = diff[:MAX_CLAUSES]
    noun = r.choice(NOUNS)  # one way of naming the images per sentence
    F, S = f"the first {noun}", f"the second {noun}"
    clauses = [_clause(k, sb, sa, S, F, r) if mirror and r.random() < 0.5 else _clause(k, sa, sb, F, S, r)
               for k in diff]
    opener = r.choice(OPENERS)
    while True:
        body = clauses[0] if len(clauses) == 1 else "; ".join(clauses[:-1]) + "; also, " + clauses[-1]
        text = opener + body
        if len(clauses) == 1 or len(text.split()) <= MAX_WORDS:
            break
        clauses.pop()
        diff.pop()
        complete = False
    text = text[0].upper() + text[1:] + "."
    if complete and same and (len(diff) == 1 or r.random() < 0.5):
        names = [_ATTR_NOUN[k] for k in same]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        closer = f" Otherwise the two scenes share the same {listed}."
        if len((text + closer).split()) <= MAX_WORDS:
            text += closer
    return text, diff


class TemplateBackend:
    """Backend `template`: needs the items' attribute records (see module docstring)."""

    backend = "template"
    needs_items = True

    def __init__(self, version: str = ORACLE_VERSIONS[-1]) -> None:
        if version not in ORACLE_VERSIONS:
            raise PcclipError(f"unknown oracle version {version!r}; choose one of {', '.join(ORACLE_VERSIONS)}")
        self.model_id = version
        self.mirror = version != "oracle-v1"
        self.file_sha256 = None

    def generate(self, prompts: list[str], params: SamplingParams) -> list[Generation]:
        raise PcclipError("the template backend writes from attribute records: call generate_items with the items")

    def generate_items(self, pairs: list[tuple[Item, Item]], params: SamplingParams) -> list[Generation]:
        out = []
        for a, b in pairs:
            if not a.attributes or not b.attributes:
                bare = a.index if not a.attributes else b.index
                raise PcclipError(
                    f"the template (oracle) backend needs attribute records, and item {bare} has none; "
                    "use an LLM backend for this dataset"
                )
            t0 = time.perf_counter()
            r = random.Random(stable_hash([self.model_id, params.seed, a.index, b.index]))
            text, diff = compare_records(a.attributes, b.attributes, r, self.mirror)
            if not text:
                out.append(Generation("", 0, time.perf_counter() - t0, "error", {"error": "no attribute differs"}))
                continue
            out.append(Generation(text, len(text.split()), time.perf_counter() - t0, "stop", {"differs_in": diff}))
        return out

    def close(self) -> None:
        pass
