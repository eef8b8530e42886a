"""The attribute grader's rules on hand-written sentences, including the junk small LLMs write."""

from __future__ import annotations

import json
import random

import pytest
from grader_helpers import claim_key, rec

from pcclip.data.testbed_world import sample_records
from pcclip.llm.grade import GRADER_VERSION, grade_comparison
from pcclip.llm.template_backend import compare_records

A = rec("circle/red/large/1/left/solid")
B = rec("square/blue/small/2/right/outlined")


def keys(text: str, ri: dict = A, rj: dict = B) -> set[tuple[str, str, str, str]]:
    return {claim_key(c) for c in grade_comparison(text, ri, rj).claims}


def test_first_while_second_all_correct_and_every_difference_covered() -> None:
    g = grade_comparison(
        "The first image shows a large red circle on the left, while the second image shows two small hollow "
        "blue squares on the right.", A, B)
    assert g.count("correct") == g.n_claims == 10
    assert g.true_diffs == ["shape", "color", "size", "count", "position", "fill"]
    assert g.covered == g.true_diffs and g.missed == [] and g.fully_correct


def test_reversed_direction_is_reversed_not_wrong() -> None:
    got = keys("The first image shows two small blue squares, while the second shows a big red circle.")
    assert ("count", "2", "i", "reversed") in got and ("shape", "circle", "j", "reversed") in got
    assert all(k[3] == "reversed" for k in got)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Image A has a bigger shape than image B.", ("size", "higher", "i", "correct")),
        ("The first image has a smaller circle than the second.", ("size", "lower", "i", "reversed")),
        ("The second image contains more objects than the first.", ("count", "higher", "j", "correct")),
        ("There are fewer shapes in the first picture.", ("count", "lower", "i", "correct")),
        ("The latter is larger than the former.", ("size", "higher", "j", "reversed")),
        ("The group in the first image sits further to the left.", ("position", "lower", "i", "correct")),
        ("Unlike the second image, the first one is not blue.", ("color", "not blue", "i", "correct")),
        ("The first image is not red.", ("color", "not red", "i", "reversed")),
        ("Neither image has triangles.", ("shape", "not triangle", "both", "correct")),
        ("The first photo holds a single disc, compared with two in the second.", ("count", "2", "j", "correct")),
        ("The first image is crimson rather than azure like the second image.", ("color", "blue", "j", "correct")),
        ("In contrast, the second image has tiny boxes.", ("shape", "square", "j", "correct")),
    ],
)
def test_forms_llms_use(text: str, want: tuple[str, str, str, str]) -> None:
    assert want in keys(text)


def test_hallucinations_absorb_their_adjectives() -> None:
    got = keys("The first image shows a person wearing a blue shirt, and the second image shows a celestial body.")
    assert got == {("object", "person", "i", "hallucinated"), ("object", "shirt", "i", "hallucinated"),
                   ("object", "celestial_body", "j", "hallucinated")}
    # a colour or shape neither image has is a hallucination; a wrong size or count is merely wrong
    got = keys("The first image has four green triangles and a tiny rectangle.")
    assert {("color", "green", "i", "hallucinated"), ("shape", "triangle", "i", "hallucinated"),
            ("shape", "rectangle", "i", "hallucinated"), ("count", "4", "i", "wrong")} <= got
    assert ("size", "small", "i", "reversed") in got


def test_equal_values_make_a_comparative_wrong() -> None:
    same_size = rec("square/blue/large/2/right/outlined")
    assert keys("The first image has bigger shapes than the second.", A, same_size) == {
        ("size", "higher", "i", "wrong")}


def test_quoted_caption_echoes_name_the_image_and_are_not_claims() -> None:
    text = ('The visual difference between an image with a description of "a large red circle on the left" and an '
            'image with a description of "two small blue squares" lies in the size of the circle.')
    g = grade_comparison(text, A, B)
    assert [claim_key(c) for c in g.claims] == [("shape", "circle", "either", "correct")]
    assert "size" in g.mentioned
    # the echo names the image the next sentence is about
    g = grade_comparison('The image described as "a large red circle on the left" shows a blue square.', A, B)
    want = {("color", "blue", "i", "reversed"), ("shape", "square", "i", "reversed")}
    assert {claim_key(c) for c in g.claims} == want


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "   ",
        "A different image has been added to the two-image pair of the first image.",
        "The answer is the answer. The answer is the answer. The answer is",
        'The first image, "A photo of a photo of a photo of a photo of a photo',
        "What is the visual difference between an image with a description? mendatang\nで購入する\n",
        "This distinction is crucial in various fields, such as art, design, and architecture.",
        "There is a small difference in a large number of ways, 3 pixels wide and 100 units long.",
    ],
)
def test_junk_without_attribute_content_has_no_claims(junk: str) -> None:
    g = grade_comparison(junk, A, B)
    assert g.claims == [] and not g.fully_correct and g.precision is None
    assert g.missed == g.true_diffs


def test_duplicate_claims_count_once_and_sentences_about_one_image() -> None:
    g = grade_comparison("The first image has a red circle. The red circle is large. It is red.", A, B)
    assert sorted(claim_key(c) for c in g.claims) == [
        ("color", "red", "i", "correct"), ("shape", "circle", "i", "correct"), ("size", "large", "i", "correct")]
    assert g.covered == ["shape", "color", "size"] and g.missed == ["count", "position", "fill"]


def test_claims_true_of_both_do_not_cover_a_difference() -> None:
    same_colour = rec("square/red/small/2/right/outlined")
    g = grade_comparison("Both images are red, and the first image shows a red circle.", A, same_colour)
    assert g.fully_correct and "color" not in g.true_diffs and g.covered == ["shape"]


def test_grade_row_maps_onto_the_comparison_grade_columns() -> None:
    g = grade_comparison("The first image shows two red squares and a dog, while the second is smaller.", A, B)
    row = g.row()
    assert row["grader"] == GRADER_VERSION
    assert row["n_claims"] == row["n_correct"] + row["n_reversed"] + row["n_wrong"] + row["n_hallucinated"]
    assert (row["n_correct"], row["n_reversed"], row["n_hallucinated"]) == (2, 2, 1)
    detail = json.loads(row["detail_json"])
    assert {c["verdict"] for c in detail["claims"]} == {"correct", "reversed", "hallucinated"}
    assert detail["missed"] == [a for a in detail["true_diffs"] if a not in detail["covered"]]


def test_the_oracle_backends_sentences_grade_fully_correct() -> None:
    """The template backend states only true differences: every claim must grade correct, every stated one covered."""
    recs = [r.to_dict() for r in sample_records(5, 120, stream=11)]
    n_claims = 0
    for k in range(150):
        a, b = recs[k % 120], recs[(5 * k + 7) % 120]
        text, stated = compare_records(a, b, random.Random(k))
        g = grade_comparison(text, a, b)
        n_claims += g.n_claims
        assert all(c.verdict == "correct" for c in g.claims), (text, [claim_key(c) for c in g.claims])
        assert set(stated) <= set(g.covered), (text, stated, g.covered)
    assert n_claims > 400
