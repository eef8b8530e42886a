"""The attribute oracle writes TRUE comparisons of image i relative to image j, in varied phrasing.

The checker here is independent of the oracle's code: it splits every clause at its connective, attributes each
half to the image that half names ("first"/"second"), and checks every attribute word and comparative in a half
against that image's record, using the world's own vocabulary (SYNONYMS, COUNT_WORDS, COMPARATIVES).
"""

from __future__ import annotations

import re
from itertools import permutations
from pathlib import Path

import pytest
from generation_helpers import TinyShapes

from pcclip.data.base import Item
from pcclip.data.testbed_world import ATTRIBUTES, COMPARATIVES, COUNT_WORDS, ORDINAL, SYNONYMS, sample_records
from pcclip.errors import PcclipError
from pcclip.llm.base import SamplingParams
from pcclip.llm.filter import filter_output
from pcclip.llm.template_backend import TemplateBackend

CONNECTIVES = (" while ", " whereas ", " rather than ", " than ", ", but ", " instead of ", ", compared with ")
_PLURAL = r"(?:s|es)?"


def _has(word: str, text: str, plural: bool = True) -> bool:
    return re.search(r"\b" + re.escape(word) + (_PLURAL if plural else "") + r"\b", text) is not None


def _value_words() -> dict[str, dict[object, list[str]]]:
    out: dict[str, dict[object, list[str]]] = {}
    for attr, values in ATTRIBUTES.items():
        out[attr] = {}
        for v in values:
            words = list(COUNT_WORDS[v]) if attr == "count" else list(SYNONYMS[v])
            out[attr][v] = [w for w in words if not w.isdigit()]
    return out


VALUE_WORDS = _value_words()


def _check_half(half: str, rec: dict, other: dict) -> list[str]:
    """Every claim in `half` about the image it names must hold for `rec` (compared with `other`)."""
    errors = []
    text = half.lower()
    # comparatives first, longest first ("more to the right" before "more"), and remove them so that "further
    # left" is not read as the value "left"
    comparatives = [(w, attr, higher) for attr in ORDINAL
                    for words, higher in zip(COMPARATIVES[attr], (False, True)) for w in words]
    for w, attr, higher in sorted(comparatives, key=lambda t: -len(t[0])):
        pattern = r"\b" + re.escape(w) + r"\b"
        if re.search(pattern, text):
            order = ATTRIBUTES[attr]
            ra, rb = order.index(rec[attr]), order.index(other[attr])
            if not (ra > rb if higher else ra < rb):
                errors.append(f"{w!r} ({attr}) is false")
            text = re.sub(pattern, " ", text)
    for attr, by_value in VALUE_WORDS.items():
        for value, words in by_value.items():
            for w in words:
                if _has(w, text, plural=attr != "count") and rec[attr] != value:  # "ones" is no count
                    # "one" also names a count in "one of them": still a claim about this image
                    errors.append(f"{w!r} says {attr}={value}, the record has {rec[attr]}")
    return errors


def check_sentence(sentence: str, a: dict, b: dict) -> list[str]:
    errors = []
    for clause in re.split(r"[;.]", sentence):
        low = clause.lower()
        hits = [(low.find(c), c) for c in CONNECTIVES if c in low]
        if not hits:
            continue
        pos, conn = min(hits)
        halves = (low[:pos], low[pos + len(conn):])
        for half in halves:
            names_first, names_second = "first" in half, "second" in half
            if names_first == names_second:
                errors.append(f"half {half!r} names neither or both images")
                continue
            rec, other = (a, b) if names_first else (b, a)
            errors += _check_half(half, rec, other)
    return errors


def _pairs(n: int = 40, seed: int = 5) -> list[tuple[Item, Item]]:
    recs = [r.to_dict() for r in sample_records(seed, n, stream=3)]
    items = [Item(k, f"i{k}", None, None, rec) for k, rec in enumerate(recs)]
    return [(items[i], items[j]) for i, j in permutations(range(n), 2)][::3]


@pytest.mark.parametrize("version", ["oracle-v1", "oracle-v2"])
def test_oracle_sentences_are_true_of_the_records(version: str) -> None:
    pairs = _pairs()
    gens = TemplateBackend(version).generate_items(pairs, SamplingParams())
    assert len(gens) == len(pairs) > 400
    for (a, b), g in zip(pairs, gens):
        errs = check_sentence(g.text, a.attributes, b.attributes)
        assert not errs, (g.text, a.attributes, b.attributes, errs)
        differs = [k for k in ATTRIBUTES if a.attributes[k] != b.attributes[k]]
        assert set(g.extra["differs_in"]) <= set(differs)
        assert g.extra["differs_in"] or not differs
        assert filter_output(g.text).accepted, g.text


def _second_named_first(text: str) -> list[bool]:
    """Per clause: does it name the second image before the first?"""
    body = text.split(" Otherwise")[0]
    out = []
    for clause in re.split(r"; (?:also, )?", body):
        low = clause.lower()
        if "first" in low and "second" in low:
            out.append(low.index("second") < low.index("first"))
    return out


def test_v2_names_either_image_first_equally_often() -> None:
    """oracle-v1 mostly names the first image first (a word-order shortcut a text encoder can learn); oracle-v2
    writes each clause from either side with equal probability."""
    pairs = _pairs()
    share = {}
    for version in ("oracle-v1", "oracle-v2"):
        flags = [f for g in TemplateBackend(version).generate_items(pairs, SamplingParams())
                 for f in _second_named_first(g.text)]
        assert len(flags) > 800
        share[version] = sum(flags) / len(flags)
    assert share["oracle-v1"] < 0.3
    assert 0.42 < share["oracle-v2"] < 0.58, share
    with pytest.raises(PcclipError, match="unknown oracle version"):
        TemplateBackend("oracle-v9")


def test_checker_catches_a_reversed_sentence() -> None:
    # the same sentences read against swapped records must be caught (the checker is not vacuous)
    pairs = _pairs(20, seed=9)
    gens = TemplateBackend().generate_items(pairs, SamplingParams())
    caught = sum(bool(check_sentence(g.text, b.attributes, a.attributes)) for (a, b), g in zip(pairs, gens))
    assert caught >= 0.95 * len(pairs)


def test_phrasing_is_varied_and_deterministic() -> None:
    pairs = _pairs()
    backend = TemplateBackend()
    gens = backend.generate_items(pairs, SamplingParams())
    again = backend.generate_items(pairs[::-1], SamplingParams())[::-1]  # batch order does not matter
    assert [g.text for g in gens] == [g.text for g in again]
    texts = [g.text for g in gens]
    assert len(set(texts)) == len(texts)
    openings = {" ".join(t.split()[:4]) for t in texts}
    assert len(openings) >= 20
    other_seed = backend.generate_items(pairs, SamplingParams(seed=1))
    assert sum(x.text != y.text for x, y in zip(gens, other_seed)) > len(pairs) // 2


def test_oracle_never_uses_evaluation_templates() -> None:
    tasks = pytest.importorskip("pcclip.data.testbed_tasks", reason="the testbed's evaluation tasks are not in yet")
    source = Path(tasks.__file__).read_text()
    fixed = re.findall(r'"([^"{}]{12,})', source)  # literal stretches of its sentence templates
    gens = TemplateBackend().generate_items(_pairs(20), SamplingParams())
    for g in gens:
        for lit in fixed:
            assert lit.lower() not in g.text.lower(), (lit, g.text)


def test_oracle_needs_records() -> None:
    d = TinyShapes(6)
    bare = [(d.items("nocap")[0], d.items("nocap")[1])]
    with pytest.raises(PcclipError, match="needs attribute records"):
        TemplateBackend().generate_items(bare, SamplingParams())


def test_attribute_sets_and_records_without_differences() -> None:
    # CUB-like records: sets of attribute names present; captions ride along and are ignored
    a = {"cub_attributes": ["has_bill_shape::dagger", "has_wing_color::blue", "has_crown_color::red"],
         "captions": ["x"]}
    b = {"cub_attributes": ["has_bill_shape::curved", "has_wing_color::blue"], "captions": ["y"]}
    items = [Item(0, "a", None, None, a), Item(1, "b", None, None, b), Item(2, "c", None, None, dict(b))]
    gens = TemplateBackend().generate_items([(items[0], items[1]), (items[1], items[0]), (items[1], items[2])],
                                            SamplingParams())
    fwd, rev, same = gens
    for g in (fwd, rev):
        assert "dagger bill shape" in g.text and "curved bill shape" in g.text and "red crown color" in g.text
        assert "blue" not in g.text  # shared attributes are no difference
    assert same.text == "" and same.finish_reason == "error" and same.extra["error"] == "no attribute differs"
    with pytest.raises(PcclipError, match="cannot compare records with keys captions"):
        TemplateBackend().generate_items([(Item(0, "a", None, None, {"captions": ["p"]}),
                                           Item(1, "b", None, None, {"captions": ["q"]}))], SamplingParams())


def test_the_attribute_grader_finds_every_oracle_claim_correct() -> None:
    """A second, independent reader: the comparison grader of pcclip.llm.grade (another engineer's parser)."""
    from pcclip.llm.grade import grade_comparison

    pairs = _pairs(30, seed=11)
    gens = TemplateBackend().generate_items(pairs, SamplingParams())
    graded = [grade_comparison(g.text, a.attributes, b.attributes) for (a, b), g in zip(pairs, gens)]
    wrong = [(g.text, gr.claims) for g, gr in zip(gens, graded) if gr.true_diffs and not gr.fully_correct]
    assert not wrong, wrong[:3]
