"""The grader against the hand-labelled set (tests/grader_labels.jsonl): at least 95% of claims agree."""

from __future__ import annotations

from collections import Counter

from grader_helpers import agreement, load_labels


def test_the_labelled_set_is_big_and_varied() -> None:
    items = load_labels()
    assert len(items) >= 100
    sources = Counter(it["source"].split("-")[0] for it in items)
    assert sources["smollm2"] >= 30 and sources["oracle"] >= 20 and sources["hand"] >= 40 and sources["gemma3"] >= 2
    verdicts = Counter(c[3] for it in items for c in it["claims"])
    assert all(verdicts[v] >= 5 for v in ("correct", "reversed", "wrong", "hallucinated")), verdicts
    assert sum(1 for it in items if not it["claims"]) >= 5  # junk with nothing to grade


def test_grader_agrees_with_hand_labels_on_95_percent_of_claims() -> None:
    items = load_labels()
    agreed, total, diffs = agreement(items)
    rate = agreed / total
    print(f"\nclaim agreement (attribute, value, verdict): {agreed}/{total} = {rate:.4f}; disagreeing items: "
          f"{[d[0] for d in diffs]}")
    assert rate >= 0.95, diffs
    agreed_i, total_i, _ = agreement(items, with_image=True)
    print(f"claim agreement including the image: {agreed_i}/{total_i} = {agreed_i / total_i:.4f}")
    assert agreed_i / total_i >= 0.95


def test_held_out_rounds_agree() -> None:
    """Items labelled after the rules were frozen (round 1 against attr-v1, rounds 2 and 3 against attr-v2); round 1's
    misses were then fixed, so rounds 2 and 3 measure the current rules on text they were not tuned on."""
    items = load_labels()
    for prefix in ("heldout-", "heldout2-", "heldout3-"):
        part = [it for it in items if it["source"].startswith(prefix)]
        agreed, total, _ = agreement(part, with_image=True)
        print(f"\n{prefix.rstrip('-')}: {len(part)} comparisons, {agreed}/{total} claims agree")
        assert part and agreed / total >= 0.95
