"""The testbed's world: what a scene can contain, a seeded sampler of scene records, and training captions.

A scene is `count` identical objects (same shape, colour, size and fill) on a light background; the group
sits towards the left, the centre or the right of the picture. Every image of the testbed is drawn from one
`SceneRecord`, which is the ground truth the oracle comparison backend and the attribute grader read.

Public vocabulary (plain constants, safe to import anywhere; this module imports only numpy):

- `ATTRIBUTES`: attribute name -> allowed canonical values (the order of ordinal attributes is meaningful).
- `ORDINAL`: the attributes whose values are ordered (size, count, position), low to high.
- `SYNONYMS`: canonical value -> words a person or an LLM might write for it (canonical word first).
- `COMPARATIVES`: for each ordinal attribute, the words for "lower" and "higher" (e.g. smaller / larger).
- `COUNT_WORDS`: 1 -> "one", ... ; `PLURALS`: shape -> plural noun.
- `CLASS_ATTRIBUTES`: the attributes whose values make the zero-shot class label ("red circle").

Records are JSON-serialisable via `SceneRecord.to_dict()` / `SceneRecord.from_dict()`; that dict is what a
testbed `Item.attributes` holds.

Caption templates here are for PRETRAINING captions only. Evaluation sentences live in
`pcclip.data.testbed_tasks` and the oracle comparison backend uses its own phrasings: keep the three disjoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

#: attribute name -> allowed canonical values. Ordinal attributes are listed low -> high.
ATTRIBUTES: dict[str, tuple[Any, ...]] = {
    "shape": ("circle", "square", "triangle", "star"),
    "color": ("red", "orange", "yellow", "green", "blue", "purple"),
    "size": ("small", "medium", "large"),  # ordinal: object radius
    "count": (1, 2, 3),  # ordinal: number of (identical) objects
    "position": ("left", "center", "right"),  # ordinal along x: where the group's centroid lies
    "fill": ("solid", "outlined"),  # filled shape, or only its outline
}

#: attributes whose values are ordered (low -> high, as listed in ATTRIBUTES).
ORDINAL: tuple[str, ...] = ("size", "count", "position")

#: value used for an attribute a config holds fixed (not in `vary`).
FIXED_DEFAULTS: dict[str, Any] = {
    "shape": "circle",
    "color": "red",
    "size": "medium",
    "count": 1,
    "position": "center",
    "fill": "solid",
}

#: the attributes that make a zero-shot class ("red circle"): colour x shape.
CLASS_ATTRIBUTES: tuple[str, ...] = ("color", "shape")

#: canonical value -> words people or LLMs use for it (canonical word first). Count uses COUNT_WORDS.
SYNONYMS: dict[str, tuple[str, ...]] = {
    # shapes
    "circle": ("circle", "disc", "disk", "dot", "round shape", "ring"),
    "square": ("square", "box", "block"),
    "triangle": ("triangle", "triangular shape"),
    "star": ("star", "five-pointed star"),
    # colours
    "red": ("red", "crimson", "scarlet"),
    "orange": ("orange", "amber"),
    "yellow": ("yellow", "golden", "gold"),
    "green": ("green", "lime"),
    "blue": ("blue", "azure"),
    "purple": ("purple", "violet", "magenta"),
    # sizes
    "small": ("small", "little", "tiny"),
    "medium": ("medium", "medium-sized", "mid-sized", "moderate"),
    "large": ("large", "big", "huge", "giant"),
    # positions
    "left": ("left", "left side", "left-hand side"),
    "center": ("center", "centre", "middle"),
    "right": ("right", "right side", "right-hand side"),
    # fills
    "solid": ("solid", "filled", "filled-in", "full"),
    "outlined": ("outlined", "hollow", "outline", "empty", "unfilled"),
}

#: number -> words (the canonical word first).
COUNT_WORDS: dict[int, tuple[str, ...]] = {
    1: ("one", "a single", "a lone", "1"),
    2: ("two", "a pair of", "2"),
    3: ("three", "3"),
}

#: shape -> plural noun.
PLURALS: dict[str, str] = {"circle": "circles", "square": "squares", "triangle": "triangles", "star": "stars"}

#: ordinal attribute -> (words meaning "lower", words meaning "higher"), canonical first.
COMPARATIVES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "size": (("smaller", "tinier", "littler"), ("larger", "bigger")),
    "count": (("fewer", "less numerous"), ("more", "more numerous")),
    "position": (("further left", "more to the left"), ("further right", "more to the right")),
}

#: approximate RGB of each colour name (the drawn colour is jittered around it, staying unambiguous).
COLOR_RGB: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35),
    "orange": (245, 140, 20),
    "yellow": (235, 215, 30),
    "green": (40, 170, 60),
    "blue": (35, 80, 220),
    "purple": (140, 50, 190),
}

#: object radius as a fraction of the image side, per size (min, max).
SIZE_RADIUS: dict[str, tuple[float, float]] = {
    "small": (0.085, 0.1),
    "medium": (0.135, 0.15),
    "large": (0.185, 0.2),
}

#: x-centroid bands (fraction of width) that define position.
POSITION_BANDS: dict[str, tuple[float, float]] = {"left": (0.0, 0.42), "center": (0.42, 0.58), "right": (0.58, 1.0)}


def position_of(x: float) -> str:
    """The position word for a group centroid at horizontal fraction `x` (0 = left edge)."""
    for name, (lo, hi) in POSITION_BANDS.items():
        if lo <= x < hi:
            return name
    return "right"


@dataclass(frozen=True)
class ObjectGeometry:
    """Where one object is drawn, in fractions of the image side (so a record fits any image size)."""

    x: float  # centre, 0 = left edge
    y: float  # centre, 0 = top edge
    radius: float  # circumradius
    rotation: float  # degrees; squares/triangles/stars are drawn slightly rotated


@dataclass(frozen=True)
class SceneRecord:
    """The ground truth of one image: its attribute values and how it is drawn.

    `to_dict()` gives the JSON-serialisable form stored in `Item.attributes`:
    {"shape": "circle", "color": "red", "size": "large", "count": 2, "position": "left", "fill": "solid",
     "rgb": [r, g, b], "background": [r, g, b], "objects": [{"x":..,"y":..,"radius":..,"rotation":..}, ...]}
    """

    shape: str
    color: str
    size: str
    count: int
    position: str
    fill: str
    rgb: tuple[int, int, int] = (0, 0, 0)
    background: tuple[int, int, int] = (235, 235, 235)
    objects: tuple[ObjectGeometry, ...] = field(default_factory=tuple)

    def value(self, attribute: str) -> Any:
        """The canonical value of `attribute` (one of ATTRIBUTES' keys)."""
        return getattr(self, attribute)

    def values(self) -> dict[str, Any]:
        """Attribute name -> canonical value, for every attribute in ATTRIBUTES."""
        return {a: getattr(self, a) for a in ATTRIBUTES}

    @property
    def classname(self) -> str:
        """The zero-shot class, e.g. "red circle"."""
        return class_name(self.color, self.shape)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rgb"] = list(self.rgb)
        d["background"] = list(self.background)
        d["objects"] = [asdict(o) for o in self.objects]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SceneRecord:
        return cls(
            shape=d["shape"],
            color=d["color"],
            size=d["size"],
            count=int(d["count"]),
            position=d["position"],
            fill=d["fill"],
            rgb=tuple(d.get("rgb", (0, 0, 0))),  # type: ignore[arg-type]
            background=tuple(d.get("background", (235, 235, 235))),  # type: ignore[arg-type]
            objects=tuple(ObjectGeometry(**o) for o in d.get("objects", [])),
        )


def class_name(color: str, shape: str) -> str:
    return f"{color} {shape}"


def class_names(values: dict[str, Sequence[Any]] | None = None) -> list[str]:
    """All zero-shot classes (colour x shape) for the given allowed values, in a fixed order."""
    v = values or ATTRIBUTES
    return [class_name(c, s) for c in v["color"] for s in v["shape"]]


def _layout(rng: np.random.Generator, count: int, radius: float, target: str) -> tuple[list[tuple[float, float]], str]:
    """Non-overlapping centres for `count` objects whose centroid lies in `target`'s band, if one is found.

    Returns the centres and the position they really have (the record always states the drawn truth).
    """
    margin = radius + 0.02
    lo_band, hi_band = POSITION_BANDS[target]
    best: list[tuple[float, float]] | None = None
    best_dist = float("inf")
    for _ in range(400):
        pts: list[tuple[float, float]] = []
        for _ in range(60):
            x, y = rng.uniform(margin, 1 - margin, size=2)
            if all((x - px) ** 2 + (y - py) ** 2 >= (2 * radius + 0.03) ** 2 for px, py in pts):
                pts.append((float(x), float(y)))
                if len(pts) == count:
                    break
        if len(pts) < count:
            continue
        cx = sum(p[0] for p in pts) / count
        if lo_band <= cx < hi_band:
            return pts, target
        dist = min(abs(cx - lo_band), abs(cx - hi_band))
        if dist < best_dist:
            best, best_dist = pts, dist
    if best is None:  # cannot happen with the configured radii; keep a clear failure rather than a silent one
        raise RuntimeError(f"cannot place {count} objects of radius {radius:.3f}")
    return best, position_of(sum(p[0] for p in best) / count)


def sample_record(
    rng: np.random.Generator,
    vary: Iterable[str] | None = None,
    values: dict[str, Sequence[Any]] | None = None,
) -> SceneRecord:
    """Draw one scene. Attributes not in `vary` take FIXED_DEFAULTS; `values` may restrict the allowed values."""
    vary_set = set(ATTRIBUTES) if vary is None else set(vary)
    allowed = {a: tuple((values or {}).get(a, ATTRIBUTES[a])) for a in ATTRIBUTES}
    chosen: dict[str, Any] = {}
    for a in ATTRIBUTES:  # fixed order, so a seed always gives the same record
        options = allowed[a]
        chosen[a] = options[int(rng.integers(len(options)))] if a in vary_set else FIXED_DEFAULTS[a]
        if a not in vary_set and FIXED_DEFAULTS[a] not in options:
            chosen[a] = options[0]
    lo, hi = SIZE_RADIUS[chosen["size"]]
    radius = float(rng.uniform(lo, hi))
    pts, position = _layout(rng, int(chosen["count"]), radius, chosen["position"])
    if "position" not in vary_set and position != chosen["position"]:
        # a fixed position is honoured exactly: shift the group so its centroid sits in the band
        lo_b, hi_b = POSITION_BANDS[chosen["position"]]
        cx = sum(p[0] for p in pts) / len(pts)
        shift = (lo_b + hi_b) / 2 - cx
        pts = [(min(max(x + shift, radius), 1 - radius), y) for x, y in pts]
        position = position_of(sum(p[0] for p in pts) / len(pts))
    base = np.array(COLOR_RGB[chosen["color"]], dtype=float)
    rgb = tuple(int(v) for v in np.clip(base + rng.integers(-18, 19, size=3), 0, 255))
    bg_level = int(rng.integers(220, 251))
    background = tuple(int(v) for v in np.clip(bg_level + rng.integers(-6, 7, size=3), 0, 255))
    rot = float(rng.uniform(-15, 15))
    objects = tuple(ObjectGeometry(x=x, y=y, radius=radius, rotation=rot) for x, y in pts)
    return SceneRecord(
        shape=chosen["shape"],
        color=chosen["color"],
        size=chosen["size"],
        count=int(chosen["count"]),
        position=position,
        fill=chosen["fill"],
        rgb=rgb,  # type: ignore[arg-type]
        background=background,  # type: ignore[arg-type]
        objects=objects,
    )


def sample_records(
    seed: int,
    n: int,
    stream: int = 0,
    vary: Iterable[str] | None = None,
    values: dict[str, Sequence[Any]] | None = None,
) -> list[SceneRecord]:
    """`n` scenes for (seed, stream). Record i depends only on (seed, stream, i), never on `n`.

    Use a different `stream` per split so that splits never share a scene draw.
    """
    vary_t = None if vary is None else tuple(vary)
    return [sample_record(np.random.default_rng([seed, stream, i]), vary_t, values) for i in range(n)]


# ---------------------------------------------------------------------------------------------------------------
# Pretraining captions. Several wordings per scene so the text tower learns the attribute words, not one template.
# These are NOT evaluation sentences (see pcclip.data.testbed_tasks) and NOT oracle comparisons (pcclip.llm).

_CAPTION_TEMPLATES: tuple[str, ...] = (
    "a photo of {noun_phrase}{where}.",
    "{noun_phrase}{where}.",
    "a picture showing {noun_phrase}{where}.",
    "an image of {noun_phrase}{where}.",
    "{noun_phrase}{where} on a plain background.",
)


def _noun_phrase(rec: SceneRecord, vary: set[str], rng: np.random.Generator | None) -> str:
    def pick(options: Sequence[str]) -> str:
        return options[0] if rng is None else options[int(rng.integers(len(options)))]

    adjs: list[str] = []
    if "size" in vary:
        adjs.append(pick(SYNONYMS[rec.size][:3]))
    if "fill" in vary:
        adjs.append(pick(SYNONYMS[rec.fill][:2]))
    adjs.append(pick(SYNONYMS[rec.color][:1]))
    noun = rec.shape if rec.count == 1 else PLURALS[rec.shape]
    if rec.count == 1:
        article = "an" if adjs[0][0] in "aeiou" else "a"
        count_word = article if ("count" not in vary or rng is None or rng.random() < 0.5) else "one"
    elif "count" in vary:
        count_word = pick(COUNT_WORDS[rec.count][:1])
    else:  # count not stated: a bare plural
        return f"{' '.join(adjs)} {noun}"
    return f"{count_word} {' '.join(adjs)} {noun}"


def _where(rec: SceneRecord, vary: set[str], rng: np.random.Generator | None) -> str:
    if "position" not in vary:
        return ""
    if rec.position == "center":
        return " in the middle" if rng is None or rng.random() < 0.5 else " in the center"
    side = rec.position
    return f" on the {side}" if rng is None or rng.random() < 0.5 else f" on the {side} side"


def caption(
    rec: SceneRecord,
    vary: Iterable[str] | None = None,
    rng: np.random.Generator | None = None,
    drop: float = 0.0,
) -> str:
    """A pretraining caption that states every varying attribute of `rec`.

    With `rng=None` it is the canonical caption (e.g. "a photo of two large solid red circles on the left.");
    with an rng it picks among wordings and synonyms, for caption variety during pretraining, and leaves out each
    non-class attribute (size, fill, count, position) with probability `drop`, as real captions leave things out:
    the text tower then reads short descriptions ("a red circle") as well as full ones.
    """
    vary_set = set(ATTRIBUTES) if vary is None else set(vary)
    if rng is not None and drop > 0:
        vary_set = {a for a in sorted(vary_set) if a in CLASS_ATTRIBUTES or rng.random() >= drop}
    template = _CAPTION_TEMPLATES[0] if rng is None else _CAPTION_TEMPLATES[int(rng.integers(len(_CAPTION_TEMPLATES)))]
    return template.format(noun_phrase=_noun_phrase(rec, vary_set, rng), where=_where(rec, vary_set, rng))
