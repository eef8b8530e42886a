"""The testbed's difference tasks: sentences true of (a, b), seeded, disjoint from the oracle's phrasings."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from testbed_helpers import tiny_testbed

from pcclip.data import testbed_tasks as tt
from pcclip.data.testbed_world import ATTRIBUTES, PLURALS


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory):
    import os

    os.environ["PCCLIP_CACHE"] = str(tmp_path_factory.mktemp("tasks-cache"))
    return tiny_testbed(n_test=400)


def _words(rec, vary) -> set[str]:
    return set(tt.attribute_words(rec, vary).values())


def test_four_tasks_with_chance_half_from_the_test_split(ds) -> None:
    tasks = tt.build_diff_tasks(ds, seed=0, n_pairs=50)
    assert [t.name for t in tasks] == list(tt.TASK_NAMES)
    for t in tasks:
        assert t.split == "test" and t.chance == 0.5 and len(t.pairs) == 50
        assert all(p.a != p.b for p in t.pairs)
        assert len({(p.a, p.b) for p in t.pairs}) == 50


def test_sentences_are_true_of_a_relative_to_b(ds) -> None:
    recs = ds.records("test")
    vary = ds.cfg.vary
    by_name = {t.name: t for t in tt.build_diff_tasks(ds, seed=1, n_pairs=80)}
    for i, p in enumerate(by_name["attributes"].pairs):
        a, b = recs[p.a], recs[p.b]
        assert (a.color, a.shape) != (b.color, b.shape)
        if i % 2 == 0:
            first, second = p.sentence.removeprefix("The first image has attributes of ").split(
                ", while the second image has attributes of ")
        else:
            second, first = p.sentence.removeprefix("The second image has attributes of ").split(
                ", while the first image has attributes of ")
        assert set(first.split(", ")) == _words(a, vary) - _words(b, vary)
        assert set(second.split(", ")) == _words(b, vary) - _words(a, vary)
    for i, p in enumerate(by_name["size"].pairs):
        assert {recs[p.a].size, recs[p.b].size} == {"small", "large"}
        a_word, b_word = ("larger", "smaller") if recs[p.a].size == "large" else ("smaller", "larger")
        assert p.sentence == (
            f"The first image contains a {a_word} shape, while the second contains a {b_word} shape" if i % 2 == 0
            else f"The second image contains a {b_word} shape, while the first contains a {a_word} shape")
    for i, p in enumerate(by_name["color"].pairs):
        ca, cb = recs[p.a].color, recs[p.b].color
        assert {ca, cb} == {"blue", "yellow"}
        assert p.sentence == (f"The first shape is {ca}, while the second is {cb}" if i % 2 == 0
                              else f"The second shape is {cb}, while the first is {ca}")
    for i, p in enumerate(by_name["captions"].pairs):
        # order 1 describes image two relative to image one: check it as the sentence of (b, a)
        assert ("image one features" in p.sentence or "Image one, unlike" in p.sentence) == (i % 2 == 0)
        a, b = (recs[p.a], recs[p.b]) if i % 2 == 0 else (recs[p.b], recs[p.a])
        s = p.sentence
        for attr in ATTRIBUTES:
            if a.value(attr) == b.value(attr):
                continue
            if attr == "color":
                assert f"{a.color} coloring (not {b.color})" in s
            elif attr == "shape":
                assert f"{PLURALS[a.shape]} in place of {PLURALS[b.shape]}" in s
            elif attr == "size":
                up = ATTRIBUTES["size"].index(a.size) > ATTRIBUTES["size"].index(b.size)
                assert ("greater size" if up else "lesser size") in s
            elif attr == "count":
                assert ("higher object count" if a.count > b.count else "lower object count") in s
            elif attr == "position":
                up = ATTRIBUTES["position"].index(a.position) > ATTRIBUTES["position"].index(b.position)
                assert ("shifted rightward" if up else "shifted leftward") in s
            elif attr == "fill":
                assert ("solid-filled shapes instead" if a.fill == "solid" else "outlined shapes instead") in s
        # nothing claimed about an attribute the two share
        if a.color == b.color:
            assert "coloring" not in s
        if a.count == b.count:
            assert "object count" not in s


def test_sentence_orders_are_balanced(ds) -> None:
    """Half the pairs of every task name the second image first, so word order alone scores exactly chance."""
    for t in tt.build_diff_tasks(ds, seed=2, n_pairs=60):
        second_first = [p.sentence.startswith(("The second", "Relative to image one", "Image two")) for p in t.pairs]
        assert sum(second_first) == 30, t.name
        assert second_first[1::2] == [True] * 30, t.name


def test_tasks_are_seeded(ds) -> None:
    one = tt.build_diff_tasks(ds, seed=3, n_pairs=30)
    again = tt.build_diff_tasks(ds, seed=3, n_pairs=30)
    other = tt.build_diff_tasks(ds, seed=4, n_pairs=30)
    assert [t.pairs for t in one] == [t.pairs for t in again]
    assert [t.pairs for t in one] != [t.pairs for t in other]


def test_tasks_of_a_held_attribute_are_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PCCLIP_CACHE", str(tmp_path))
    small = tiny_testbed(vary=["color", "shape", "count"], n_test=100)
    names = [t.name for t in tt.build_diff_tasks(small, seed=0, n_pairs=10)]
    assert names == ["attributes", "color", "captions"]


def test_evaluation_sentences_never_match_the_oracle(ds) -> None:
    """The attribute oracle writes training comparisons: its sentences must never be an evaluation sentence, nor
    use the evaluation templates' frames."""
    from pcclip.llm.template_backend import compare_records

    recs = ds.records("test")
    tasks = tt.build_diff_tasks(ds, seed=0, n_pairs=100)
    eval_sentences = {p.sentence.rstrip(".").lower() for t in tasks for p in t.pairs}
    frames = ["has attributes of", "contains a larger shape", "contains a smaller shape", "the first shape is",
              "the second shape is", "the second image has attributes", "relative to image two",
              "relative to image one", "image two, unlike", "image one", "coloring (not", "in place of", "object count",
              "shifted rightward", "shifted leftward"]
    for t in tasks:
        for p in t.pairs:
            for k in range(3):
                text, _ = compare_records(recs[p.a].to_dict(), recs[p.b].to_dict(), random.Random(k * 7919 + p.a))
                low = text.lower()
                assert low.rstrip(".") not in eval_sentences
                assert not [f for f in frames if f in low], text
