"""Shared helpers for the grader's tests: attribute records and the hand-labelled set."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from pcclip.llm.grade import Claim, grade_comparison

LABELS = Path(__file__).with_name("grader_labels.jsonl")
KEYS = ("shape", "color", "size", "count", "position", "fill")


def rec(spec: str) -> dict[str, Any]:
    """ "circle/red/large/1/left/solid" -> an attribute record like the testbed's."""
    v = spec.split("/")
    return {"shape": v[0], "color": v[1], "size": v[2], "count": int(v[3]), "position": v[4], "fill": v[5]}


def claim_key(c: Claim) -> tuple[str, str, str, str]:
    """(attribute, value, image, verdict), negated values written "not <value>" as in the labels."""
    value = f"not {c.value}" if c.negated else str(c.value)
    return (c.attribute, value, c.image, c.verdict)


def load_labels() -> list[dict[str, Any]]:
    return [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]


def agreement(items: list[dict[str, Any]], *, with_image: bool = False) -> tuple[int, int, list[tuple]]:
    """(claims agreed, claims in the union, disagreements). A label and a grader claim agree when attribute, value
    and verdict (and the image, with_image) match; unmatched claims on either side count against agreement."""
    agreed = total = 0
    diffs: list[tuple] = []
    for it in items:
        g = grade_comparison(it["text"], it["rec_i"], it["rec_j"])
        cut = 4 if with_image else None
        norm = (lambda t: t) if with_image else (lambda t: (t[0], t[1], t[3]))
        want = Counter(norm(tuple(str(x) for x in c[:cut])) for c in it["claims"])
        got = Counter(norm(claim_key(c)) for c in g.claims)
        both = sum((want & got).values())
        agreed += both
        total += both + sum((want - got).values()) + sum((got - want).values())
        if want != got:
            diffs.append((it["id"], dict(want - got), dict(got - want)))
    return agreed, total, diffs
