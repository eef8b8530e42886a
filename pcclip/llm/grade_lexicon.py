"""Word tables the comparison grader reads: the testbed world's vocabulary plus the words LLMs use around it.

The attribute values and their synonyms come from `pcclip.data.testbed_world` (one vocabulary for the generator, the
oracle and the grader); this module only adds what the grader needs on top: spelling variants, words for things the
world never contains (hallucinations), and the small function words that carry negation, reference and comparison.
"""

from __future__ import annotations

import re

from pcclip.data.testbed_world import ATTRIBUTES, COMPARATIVES, COUNT_WORDS, ORDINAL, PLURALS, SYNONYMS

# Multi-word phrases rewritten to one token before tokenising (longest first at build time). Values are tokens the
# tables below know; "_" joins words that must stay one token.
_EXTRA_PHRASES: dict[str, str] = {
    "star-shaped": "star",
    "star shaped": "star",
    "circular": "circle",
    "round": "circle",
    "triangular": "triangle",
    "square-shaped": "square",
    "colored": "",
    "coloured": "",
    "celestial body": "celestial_body",
    "celestial bodies": "celestial_body",
    "night sky": "sky",
    "greater number of": "more_count of",
    "larger number of": "more_count of",
    "higher number of": "more_count of",
    "bigger number of": "more_count of",
    "smaller number of": "fewer_count of",
    "lower number of": "fewer_count of",
    "more objects": "more_count objects",
    "further to the left": "pos_lower",
    "farther to the left": "pos_lower",
    "farther left": "pos_lower",
    "further to the right": "pos_higher",
    "farther to the right": "pos_higher",
    "farther right": "pos_higher",
    "off-center": "",
    "left-aligned": "left",
    "right-aligned": "right",
    "in the centre": "in the center",
    "not only": "",
    "on the other hand": "",
    "on one hand": "",
    "more of them": "more_count of them",
    "fewer of them": "fewer_count of them",
}

# Ordinal comparatives: word -> (attribute, direction); +1 means "higher" in ATTRIBUTES' order.
COMPARATIVE_WORDS: dict[str, tuple[str, int]] = {}
for _attr, (_lo, _hi) in COMPARATIVES.items():
    for _w in _lo:
        COMPARATIVE_WORDS[_w] = (_attr, -1)
    for _w in _hi:
        COMPARATIVE_WORDS[_w] = (_attr, +1)
COMPARATIVE_WORDS.update({"pos_lower": ("position", -1), "pos_higher": ("position", +1)})
COMPARATIVE_WORDS.update({"more_count": ("count", +1), "fewer_count": ("count", -1)})
# "more" and "less" also make "more vibrant": they count only in front of a noun (COUNT_COMPARATIVE_HEADS).
COMPARATIVE_WORDS.pop("more", None)
COMPARATIVE_WORDS.pop("less", None)
# "more" alone is a count comparative only in front of a shape noun ("more circles"), checked by the parser.
COUNT_COMPARATIVE_HEADS = {"more": +1, "fewer": -1, "less": -1}

#: Phrase -> replacement text, applied in this order (longest first so "left-hand side" wins over "left").
PHRASES: list[tuple[str, str]] = []


def _phrase_table() -> list[tuple[str, str]]:
    table: dict[str, str] = dict(_EXTRA_PHRASES)
    for canon, words in SYNONYMS.items():
        for w in words:
            if " " in w or "-" in w:
                table[w] = canon.replace(" ", "_")
                if canon in PLURALS:  # "five-pointed stars", "round shapes"
                    table[w + "s"] = PLURALS[canon]
    for n, words in COUNT_WORDS.items():
        for w in words:
            if " " in w:
                table[w] = COUNT_WORDS[n][0]
    for w, (attr, d) in list(COMPARATIVE_WORDS.items()):
        if " " in w:
            table[w] = ("pos_" if attr == "position" else f"{attr}_") + ("lower" if d < 0 else "higher")
            COMPARATIVE_WORDS[table[w]] = (attr, d)
    return sorted(table.items(), key=lambda kv: -len(kv[0]))


PHRASES = _phrase_table()
PHRASE_RES = [(re.compile(r"\b" + re.escape(k) + r"\b"), v) for k, v in PHRASES]

#: single word -> (attribute, canonical value) for shape/colour/size/fill words (synonyms included).
VALUE_WORDS: dict[str, tuple[str, object]] = {}
for _attr, _values in ATTRIBUTES.items():
    if _attr == "count":
        continue
    for _v in _values:
        for _w in SYNONYMS.get(str(_v), (str(_v),)):
            if " " not in _w and "-" not in _w:
                VALUE_WORDS[_w] = (_attr, _v)
        VALUE_WORDS[str(_v)] = (_attr, _v)
# "outline" is mostly a noun ("the outline of the triangle", "a larger outline"), not the fill value "outlined"
VALUE_WORDS.pop("outline", None)
for _shape, _plural in PLURALS.items():
    VALUE_WORDS[_plural] = ("shape", _shape)
for _shape in ATTRIBUTES["shape"]:
    for _w in SYNONYMS.get(_shape, ()):
        if " " not in _w and "-" not in _w:
            VALUE_WORDS.setdefault(_w + "s", ("shape", _shape))
            VALUE_WORDS.setdefault(_w + "es", ("shape", _shape))
VALUE_WORDS.update({"centered": ("position", "center"), "centred": ("position", "center")})
VALUE_WORDS.update({"dots": ("shape", "circle"), "discs": ("shape", "circle"), "boxes": ("shape", "square")})

#: number words -> count (beyond the world's range too: "four circles" is a countable, wrong claim).
NUMBER_WORDS: dict[str, int] = {
    "one": 1, "single": 1, "lone": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "pair": 2,
}
NUMBER_WORDS.update({str(i): i for i in range(1, 21)})
for _n, _words in COUNT_WORDS.items():
    for _w in _words:
        if " " not in _w:
            NUMBER_WORDS[_w] = _n

#: Colour words outside the world's palette: a claim with one is a colour neither image has.
OOV_COLORS = {
    "white", "black", "pink", "brown", "gray", "grey", "cyan", "teal", "turquoise", "silver", "beige", "maroon",
    "navy", "indigo", "lavender", "olive", "tan", "cream", "ivory", "bronze", "copper",
}
#: Shape words outside the world: a shape neither image has.
OOV_SHAPES = {
    "rectangle", "rectangles", "oval", "ovals", "hexagon", "hexagons", "pentagon", "pentagons", "octagon",
    "octagons", "diamond", "diamonds", "heart", "hearts", "ellipse", "ellipses", "cube", "cubes", "sphere",
    "spheres", "pyramid", "pyramids", "cone", "cones", "cylinder", "cylinders", "crescent", "crescents", "arrow",
    "arrows", "cross", "crosses", "polygon", "polygons", "rhombus", "trapezoid", "spiral", "spirals",
}
#: Things the world never contains. A noun phrase headed by one is one hallucinated claim (its adjectives included).
HALLUCINATION_NOUNS = {
    "person", "persons", "people", "man", "men", "woman", "women", "child", "children", "boy", "girl", "baby",
    "face", "faces", "hand", "hands", "eye", "eyes", "shirt", "shirts", "hat", "dress", "jacket", "clothes",
    "clothing", "dog", "dogs", "cat", "cats", "bird", "birds", "animal", "animals", "fish", "horse", "tree",
    "trees", "flower", "flowers", "leaf", "leaves", "grass", "plant", "plants", "sky", "cloud", "clouds", "sun",
    "moon", "planet", "planets", "celestial_body", "galaxy", "ocean", "sea", "water", "river", "mountain",
    "mountains", "beach", "house", "houses", "building", "buildings", "car", "cars", "road", "street", "city",
    "ball", "balls", "balloon", "balloons", "apple", "apples", "fruit", "food", "table", "chair", "window",
    "door", "book", "logo", "flag", "letter", "letters", "wheel", "coin", "coins", "lamp",
    "fire", "smoke", "shadow", "shadows", "reflection", "gradient", "stripes", "dragon", "dragons", "unicorn",
    "monster", "creature", "creatures", "robot", "robots", "castle", "bridge", "boat", "ship", "train", "plane",
    "airplane", "bicycle", "bottle", "cup", "phone", "computer", "screen", "sword", "crown", "butterfly", "insect",
    "lake", "forest", "field", "garden", "rainbow", "snow", "rain", "storm", "desert", "island", "landscape",
    "portrait", "statue", "painting", "toy", "toys", "kite", "umbrella", "bag", "shoe", "shoes",
}
#: Heads that are the image itself or its backdrop: their adjectives are not graded ("a white background").
IGNORED_HEADS = {"background", "backdrop", "canvas", "frame", "paper", "wall", "surface"}
#: Heads meaning "the objects" in general ("three shapes", "a small one").
GENERIC_HEADS = {
    "shape", "shapes", "object", "objects", "figure", "figures", "item", "items", "one", "ones", "thing", "things",
    "form", "forms", "element", "elements", "symbol", "symbols", "icon", "icons", "group", "groups", "outline",
    "outlines", "border", "borders", "edge", "edges",
}
#: Words for the images themselves (in referent phrases).
IMAGE_NOUNS = {"image", "images", "picture", "pictures", "photo", "photos", "photograph", "description", "caption",
               "scene", "illustration", "drawing", "one", "panel"}

#: Attribute names (a mention without a value: "they differ in colour").
ATTRIBUTE_NOUNS = {
    "color": "color", "colour": "color", "colors": "color", "colours": "color", "hue": "color",
    "size": "size", "sizes": "size", "scale": "size",
    "number": "count", "count": "count", "quantity": "count", "amount": "count",
    "position": "position", "location": "position", "placement": "position", "positions": "position",
    "fill": "fill", "filling": "fill",
    "shape": "shape", "shapes": "shape",
}

NEGATION_CUES = {"not", "no", "never", "without", "neither", "nor", "lacks", "lack", "lacking", "none", "absent",
                 "instead", "rather"}
COPULAS = {"is", "are", "was", "were", "be", "being", "been", "appears", "appear", "looks", "look", "seems",
           "seem", "remains", "becomes", "both", "all", "also", "now", "still", "each"}
DEGREE_WORDS = {"very", "slightly", "much", "bit", "a", "an", "the", "quite", "rather", "somewhat", "far", "even",
                "significantly", "noticeably", "considerably", "bright", "light", "dark", "pale", "deep", "vivid",
                "and", ",", "or", "same", "identical", "similar", "other", "equally", "relatively", "its", "their",
                "sized", "size", "in", "of", "-", "vibrant", "shade", "shades", "hued", "solid_color", "all"}
# Words that end a standard-of-comparison phrase's reach back to a referent ("than the second").
STANDARD_CUES = {"than", "unlike", "compared", "comparison", "relative", "versus", "vs", "opposed", "contrast", "from",
                 "instead", "like"}
CLAUSE_BREAKS = {"while", "whereas", "but", "however", "although", "though", "yet", "meanwhile", "conversely"}
POSITION_PREPS = {"on", "at", "in", "to", "towards", "toward", "near", "placed", "positioned", "located", "sits"}
POSITION_FILLERS = {"the", "a", "far", "upper", "lower", "top", "bottom", "very", "extreme", "image's", "picture's"}

HALLUCINABLE = ("shape", "color", "object")  # a false claim naming one of these names something absent from both
ORDINAL_ATTRS = ORDINAL
