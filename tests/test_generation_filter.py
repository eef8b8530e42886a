"""The paper's output filter: each rule on hand-written outputs, and on real outputs of the local models."""

from __future__ import annotations

import pytest

from pcclip.llm.filter import FilterConfig, filter_output

GOOD = "The first image shows three small red stars, while the second shows one large blue square on the right."


def test_clean_comparison_is_accepted_unchanged() -> None:
    r = filter_output(GOOD)
    assert r.accepted and r.reason is None and r.text == GOOD


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("The first image is red.", "too-short"),
        ("```python\nprint('the first image is red while the second image is blue and larger')\n```", "junk:code"),
        ("import numpy as np\nThe first image shows three small red stars, the second a big blue one.", "junk:code"),
        ("<p>The first image shows three small red stars, while the second shows a large square.</p>", "junk:html"),
        ("Description: the first image shows three small red stars, while the second shows a blue square.",
         "junk:marker"),
        ("**The first image** shows **three** small red stars, while the second shows a large blue square.",
         "junk:asterisks"),
        ("The first image shows three small red stars \u2014 the second shows a large blue square on the right.",
         "junk:non-ascii"),
        ("Note: I cannot see images, but the first description mentions red stars and the second a blue square.",
         "empty"),
    ],
)
def test_rejections_name_their_rule(raw: str, reason: str) -> None:
    r = filter_output(raw)
    assert not r.accepted and r.text == "" and r.reason == reason


@pytest.mark.parametrize("marker", ["Q:", "Note", "I hope", "#2:"])
def test_follow_on_markers_cut_the_rest(marker: str) -> None:
    raw = f"{GOOD}\n{marker} something else entirely with \u00e9 and <b>html</b> and ```code```"
    r = filter_output(raw)
    # the junk after the marker went with the cut, so the comparison itself is kept
    assert r.accepted and r.text == GOOD


@pytest.mark.parametrize("prefix", ["1. ", "- ", "* ", "#1: ", "A: ", "Answer: ", "A: 1. ", "Response:\n"])
def test_list_and_qa_prefixes_are_stripped(prefix: str) -> None:
    r = filter_output(prefix + GOOD)
    assert r.accepted and r.text == GOOD


def test_whitespace_collapsed_and_cut_leaves_too_short() -> None:
    r = filter_output("The first image is red.\n\nQ: What about the second image, which is much larger and blue?")
    assert not r.accepted and r.reason == "too-short"
    r = filter_output("The first image  shows\nthree small red stars,\n\nwhile the second shows a large blue square.")
    assert r.accepted and "\n" not in r.text and "  " not in r.text


def test_settings_change_the_verdicts() -> None:
    short = "The first image is red, the second blue."
    assert filter_output(short, FilterConfig(min_chars=10)).accepted
    accented = GOOD.replace("square", "carr\u00e9")
    assert filter_output(accented, FilterConfig(allow_non_ascii=True)).accepted
    assert filter_output("**" + GOOD + "**", FilterConfig(max_asterisks=4)).accepted
    assert filter_output("Description: " + GOOD, FilterConfig(junk_markers=())).accepted
    off = filter_output("```x```", FilterConfig(enabled=False))
    assert off.accepted and off.text == "```x```"
    assert filter_output("", FilterConfig(enabled=False)).reason == "empty"


# The first two are real SmolLM2-135M-Instruct outputs on testbed captions (paper-v1 and one-sentence-v1 prompts,
# greedy), captured once; the rest imitate what small base models emit (special tokens, markdown, lists, code).
# The tiny-T5 and loopback-server tests run the filter on live model output too.
REAL = [
    (
        'The difference lies in the type of image. An image with a description of "a photo of a medium solid yellow '
        'square on the left" is a type of image that is a type of image.\n\nOn the other hand, an image with a '
        'description of "a photo of a medium solid yellow square on the right" is a type of image.',
        None,
    ),
    (
        "The first image is a photo of a medium solid yellow square on the left, while the second image is a photo "
        "of three medium solid green stars on the right.",
        None,
    ),
    ("<start_of_image>", "junk:html"),
    ("**Image 1:** A photo of three stars.\n**Image 2:** A photo of a square.\n\n**Difference:**", "junk:asterisks"),
    ("1. The first image is red.\n2. The second image is blue.", "too-short"),
    ("Sure! Here is the answer:\n\n```\nred vs blue\n```", "junk:code"),
]


@pytest.mark.parametrize(("raw", "reason"), REAL)
def test_real_outputs(raw: str, reason: str | None) -> None:
    r = filter_output(raw)
    assert r.reason == reason
    assert r.accepted == (reason is None)
    if r.accepted:
        assert len(r.text) >= 60 and r.text.isascii()
