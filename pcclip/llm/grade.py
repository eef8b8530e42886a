"""The attribute grader: read an LLM-written comparison against the two images' attribute records, no LLM judge.

A comparison describes image i relative to image j ("the first image ..., while the second ..."). The grader
splits it into clauses, decides which image each clause is about (its *referent*), pulls out atomic claims
(attribute, value) and comparatives (larger/smaller, more/fewer, further left/right), and checks each claim against
the records:

- ``correct``: true of the image it is said of (a comparative: the stated direction holds);
- ``reversed``: false of that image but true of the other one (a comparative: the opposite direction holds);
- ``hallucinated``: names a shape, a colour or an object that neither image contains (SmolLM2's "a person wearing
  a blue shirt", "a celestial body", a "green" when nothing is green);
- ``wrong``: any other false claim (a size, count, position or fill neither image has; "larger" between equal sizes).

It also lists the true differences (attributes whose values differ between the records) and which of them a correct,
distinguishing claim covers. The rules, with examples, are in docs/grading.md; every rule change bumps
`GRADER_VERSION` so stored grades say which rules produced them.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from pcclip.data.testbed_world import ATTRIBUTES
from pcclip.llm import grade_lexicon as L

GRADER_VERSION = "attr-v2"

I, J, BOTH, EITHER = "i", "j", "both", "either"  # noqa: E741 - the images are called i and j everywhere
VERDICTS = ("correct", "reversed", "wrong", "hallucinated")


@dataclass(frozen=True)
class Claim:
    """One atomic statement the comparison makes about an image (or both, or an unnamed one)."""

    attribute: str  # an ATTRIBUTES key, or "object" for things outside the world
    value: Any  # canonical value; a number for count; "higher"/"lower" for comparatives
    image: str  # i | j | both | either
    negated: bool = False
    comparative: bool = False
    verdict: str = ""
    words: str = ""  # the words the claim was read from (for people checking the grader)


@dataclass
class Grade:
    """The grader's reading of one comparison; maps one-to-one onto the `comparison_grade` columns."""

    claims: list[Claim] = field(default_factory=list)
    true_diffs: list[str] = field(default_factory=list)  # attributes whose values differ between the two images
    covered: list[str] = field(default_factory=list)  # of those, the ones a correct distinguishing claim states
    mentioned: list[str] = field(default_factory=list)  # attributes named without a value ("differ in colour")
    grader: str = GRADER_VERSION

    def count(self, verdict: str) -> int:
        return sum(1 for c in self.claims if c.verdict == verdict)

    @property
    def n_claims(self) -> int:
        return len(self.claims)

    @property
    def missed(self) -> list[str]:
        return [a for a in self.true_diffs if a not in self.covered]

    @property
    def fully_correct(self) -> bool:
        """At least one claim, and every claim correct."""
        return bool(self.claims) and all(c.verdict == "correct" for c in self.claims)

    @property
    def precision(self) -> float | None:
        return self.count("correct") / self.n_claims if self.claims else None

    def detail(self) -> dict[str, Any]:
        return {
            "claims": [asdict(c) for c in self.claims],
            "true_diffs": self.true_diffs,
            "covered": self.covered,
            "missed": self.missed,
            "mentioned": self.mentioned,
        }

    def row(self) -> dict[str, Any]:
        """The `comparison_grade` columns (all but comparison_id)."""
        return {
            "grader": self.grader,
            "n_claims": self.n_claims,
            "n_correct": self.count("correct"),
            "n_reversed": self.count("reversed"),
            "n_wrong": self.count("wrong"),
            "n_hallucinated": self.count("hallucinated"),
            "n_true_diffs": len(self.true_diffs),
            "n_covered": len(self.covered),
            "fully_correct": self.fully_correct,
            "detail_json": json.dumps(self.detail(), default=str),
        }


# ---------------------------------------------------------------------------------------------------------------
# Text -> tokens

_QUOTE = re.compile(r'"([^"]{1,200})"')
_IMAGE_LETTER = re.compile(r"\b(?i:image|picture|photo|img)\s*#?\s*([AB12])\b")
_TOKEN = re.compile(r"[a-z0-9_]+|[,;:.!?]")


def _normalise(text: str) -> str:
    t = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'").replace("\u2018", "'")
    # "Image A" / "Image 2" read before lowercasing, so that "an image a ..." is not a referent
    t = _IMAGE_LETTER.sub(lambda m: f" __ref_{'i' if m.group(1) in 'A1' else 'j'}__ ", t)
    t = t.lower()
    t = re.sub(r"\b(it|that|there|what)'s\b", r"\1 is", t)
    t = re.sub(r"n't\b", " not", t)
    t = t.replace("cannot", "can not")
    t = re.sub(r"'s\b", "", t)
    t = re.sub(r"(\d)\.(\d)", r"\1_\2", t)  # keep decimals out of the sentence splitter
    for rx, rep in L.PHRASE_RES:
        t = rx.sub(rep, t)
    return t


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


# ---------------------------------------------------------------------------------------------------------------
# Referents

_ORDINAL_REF = {"first": I, "1st": I, "former": I, "second": J, "2nd": J, "latter": J}


def _find_markers(toks: list[str]) -> list[tuple[int, int, str]]:
    """(start, end, referent) of each phrase naming an image; referent is i, j, both, other or either."""
    out: list[tuple[int, int, str]] = []
    k = 0
    while k < len(toks):
        t = toks[k]
        if t.startswith("__ref_"):
            ref = t[6:-2]
            out.append((k, k + 1, {"x": EITHER}.get(ref, ref)))
        elif t in ("first", "1st", "second", "2nd"):
            prev = toks[k - 1] if k else ""
            nxt = toks[k + 1] if k + 1 < len(toks) else ""
            if prev in ("the", "this", "that") or nxt in L.IMAGE_NOUNS:
                end = k + 2 if nxt in L.IMAGE_NOUNS else k + 1
                out.append((k, end, _ORDINAL_REF[t]))
                k = end
                continue
        elif t in ("former", "latter"):
            out.append((k, k + 1, _ORDINAL_REF[t]))
        elif t == "both" and k > 0 and toks[k - 1] in ("at", "comparing", "compare", "between", "of", "across"):
            pass  # "looking at both pictures": names the images, says nothing of them
        elif t == "both" or (t == "neither" and k + 1 < len(toks) and toks[k + 1] in L.IMAGE_NOUNS):
            end = k + 2 if k + 1 < len(toks) and toks[k + 1] in L.IMAGE_NOUNS else k + 1
            out.append((k, end, BOTH))
            k = end
            continue
        elif t in ("each", "two") and k + 1 < len(toks) and toks[k + 1] in ("image", "images", "pictures", "photos"):
            out.append((k, k + 2, BOTH))
            k += 2
            continue
        elif t == "other" and k + 1 < len(toks) and toks[k + 1] in L.IMAGE_NOUNS | {"has", "is", "shows"}:
            out.append((k, k + 1, "other"))
        k += 1
    return out


def _quote_referent(quote: str, rec_i: dict[str, Any], rec_j: dict[str, Any]) -> str:
    """Which image a quoted caption echo names: the record its attribute words agree with more."""
    toks = _tokens(_normalise(quote))
    facts = _plain_facts(toks)
    score = {I: 0, J: 0}
    for attr, value in facts:
        for ref, rec in ((I, rec_i), (J, rec_j)):
            if attr in rec:
                score[ref] += 1 if _same(rec[attr], value) else -1
    if score[I] == score[J] or max(score.values()) <= 0:
        return "x"  # agrees with neither caption better: not an echo
    return I if score[I] > score[J] else J


def _unquote(quote: str, rec_i: dict[str, Any], rec_j: dict[str, Any]) -> str:
    """A quoted caption echo ("an image with a description of "a red circle"") names an image and is not a claim;
    a quote whose words point to neither image is read as ordinary text."""
    ref = _quote_referent(quote, rec_i, rec_j)
    return f" {quote} " if ref == "x" else f" __ref_{ref}__ "


def _plain_facts(toks: list[str]) -> list[tuple[str, Any]]:
    facts: list[tuple[str, Any]] = []
    for k, t in enumerate(toks):
        if t in L.VALUE_WORDS:
            facts.append(L.VALUE_WORDS[t])
        elif t in L.NUMBER_WORDS and k + 1 < len(toks) and _head_after(toks, k + 1) is not None:
            facts.append(("count", L.NUMBER_WORDS[t]))
    return facts


def _same(a: Any, b: Any) -> bool:
    return str(a) == str(b)


# ---------------------------------------------------------------------------------------------------------------
# Clauses

_SENTENCE_END = {".", "!", "?", ";", ":"}


def _clauses(toks: list[str]) -> list[list[str]]:
    """Split at sentence ends and contrastive conjunctions; split at "and"/"," when a new referent follows."""
    out: list[list[str]] = []
    cur: list[str] = []
    markers = {m[0]: m for m in _find_markers(toks)}
    for k, t in enumerate(toks):
        if t in _SENTENCE_END:
            if cur:
                out.append(cur)
            out.append(["<s>"])  # sentence boundary (for referent inheritance)
            cur = []
            continue
        split = t in L.CLAUSE_BREAKS
        if t in ("and", ",") and cur and "between" not in cur[-4:]:
            # a new clause when an image is named within the next three words ("and the second is ...")
            ahead = [markers.get(k + d) for d in range(1, 4 if t == "and" else 6)]
            split = any(m is not None and m[2] in (I, J, "other") for m in ahead)
            if split and any(s in cur[-2:] for s in L.STANDARD_CUES):
                split = False
        behind = [m for m in markers.values() if k - 3 <= m[1] <= k and m[2] in (I, J)]
        if t in ("which", "who", "where") and behind:
            # "... than the first, which has ...": a relative clause about the image just named
            split = True
        if split:
            if cur:
                out.append(cur)
            cur = [f"__ref_{behind[-1][2]}__"] if t in ("which", "who", "where") and behind else []
            continue
        cur.append(t)
    if cur:
        out.append(cur)
    return out


def _subject(clause: list[str], markers: list[tuple[int, int, str]]) -> tuple[str | None, str | None, range]:
    """(subject referent, standard referent, token range of the standard phrase) of one clause.

    A referent preceded by a comparison cue ("than", "unlike", "compared to") is the standard, not the subject;
    the standard phrase runs from the cue to the next comma (or the clause end).
    """
    subject = standard = None
    std = range(0)
    for start, end, ref in markers:
        cue_at = None
        for back in range(1, 11):
            k = start - back
            if k < 0 or clause[k] == "," or any(s <= k < e for s, e, _r in markers):
                break
            if clause[k] in L.STANDARD_CUES:
                cue_at = k
                break
        if cue_at is not None:
            # "rather than red like the second": the phrase starts at the earliest cue before the value words
            for k in range(cue_at - 1, max(-1, cue_at - 5), -1):
                if clause[k] in (",",) or any(s <= k < e for s, e, _r in markers):
                    break
                if clause[k] in ("than", "rather", "instead", "unlike"):
                    cue_at = k
            if standard is None:
                stop = next((m for m in range(end, len(clause)) if clause[m] == ","), len(clause))
                standard, std = ref, range(cue_at, stop)
        elif "between" in clause[max(0, start - 8) : start]:
            subject = subject or EITHER
        elif subject is None:
            subject = ref
        elif {subject, ref} == {I, J}:
            subject = EITHER  # "the description of X and the description of Y lies in ...": about both at once
    return subject, standard, std


def _other(ref: str) -> str:
    return {I: J, J: I}.get(ref, EITHER)


# ---------------------------------------------------------------------------------------------------------------
# Claims in one clause

_HEADS = set(L.GENERIC_HEADS) | set(L.OOV_SHAPES) | set(L.HALLUCINATION_NOUNS) | set(L.IGNORED_HEADS)


def _is_head(tok: str) -> bool:
    if tok in _HEADS:
        return True
    v = L.VALUE_WORDS.get(tok)
    return v is not None and v[0] == "shape"


def _is_modifier(tok: str) -> bool:
    if tok in L.DEGREE_WORDS or tok in L.OOV_COLORS or tok in L.NUMBER_WORDS or tok in L.COMPARATIVE_WORDS:
        return True
    v = L.VALUE_WORDS.get(tok)
    return v is not None and v[0] in ("color", "size", "fill")


def _head_after(toks: list[str], k: int, limit: int = 6) -> int | None:
    """Index of the noun a modifier at k-1 attaches to: skip modifiers, stop at anything else."""
    for m in range(k, min(len(toks), k + limit)):
        if _is_head(toks[m]) and not (toks[m] == "one" and m + 1 < len(toks) and toks[m + 1] == "of"):
            return m
        if not _is_modifier(toks[m]):
            return None
    return None


_PREDICATE_FOLLOWERS = {"than", "in", "and", "or", "but", "while", "whereas", "compared", "like", "with", "as", "now",
                        "too", "also", "overall", "here", "there", "instead", "rather", "on", "at", "to", "by", "for"}


def _predicate(toks: list[str], k: int) -> bool:
    """Whether toks[k] is a predicate adjective ("is red", "are not larger", "appears very small").

    Not when a noun of another kind follows ("is a small difference")."""
    nxt = toks[k + 1] if k + 1 < len(toks) else "."
    if nxt.isalnum() and nxt not in _PREDICATE_FOLLOWERS and not _is_modifier(nxt) and not nxt.startswith("__"):
        return False
    for m in range(k - 1, max(-1, k - 5), -1):
        t = toks[m]
        if t in L.COPULAS:
            return True
        if t in ("not", "very", "slightly", "much", "quite", "a", "bit", "somewhat", "far", "even", "significantly",
                 "noticeably", "considerably", "relatively", "also", "rather", "than", "instead", "and", ","):
            continue
        if _is_modifier(t):
            continue
        return False
    return False


def _position_at(toks: list[str], k: int) -> bool:
    """"on the left", "in the center", "towards the far right", "at the top left": a position phrase."""
    if toks[k] in ("centered", "centred"):
        return True
    for m in range(k - 1, max(-1, k - 5), -1):
        if toks[m] in L.POSITION_PREPS:
            # "the image on the left" names an image, not a position of the shapes
            return not (m > 0 and toks[m - 1] in L.IMAGE_NOUNS - {"one"})
        if toks[m] not in L.POSITION_FILLERS:
            return False
    return False


_HAVE_VERBS = {"has", "have", "had", "are", "holds", "hold", "shows", "show", "contains", "contain", "features", "with",
               "only", "just", "than", "displays", "includes"}


_BARE_COUNT_FOLLOWERS = {"", "in", "on", "at", "and", "but", "while", "whereas", "compared", "there", "instead"}


def _extract(clause: list[str]) -> tuple[list[tuple[int, str, Any, bool, str]], list[str]]:
    """Claims (position, attribute, value, comparative, words) and mentioned attributes of one clause."""
    claims: list[tuple[int, str, Any, bool, str]] = []
    mentioned: list[str] = []
    absorbed: set[int] = set()
    # noun phrases headed by a hallucinated or ignored noun swallow their modifiers
    for h, t in enumerate(clause):
        if t in L.HALLUCINATION_NOUNS or t in L.IGNORED_HEADS:
            m = h - 1
            while m >= 0 and _is_modifier(clause[m]):
                absorbed.add(m)
                m -= 1
            if t in L.HALLUCINATION_NOUNS:
                claims.append((h, "object", t, False, " ".join(clause[m + 1 : h + 1])))
    for k, t in enumerate(clause):
        if k in absorbed:
            continue
        words = t
        if t in L.COMPARATIVE_WORDS:
            attr, d = L.COMPARATIVE_WORDS[t]
            if attr != "size" or _head_after(clause, k + 1) is not None or _predicate(clause, k):
                claims.append((k, attr, "higher" if d > 0 else "lower", True, words))
            continue
        if t in L.COUNT_COMPARATIVE_HEADS:
            h = _head_after(clause, k + 1, limit=4)
            if h is not None and clause[h] not in L.HALLUCINATION_NOUNS and clause[h] not in L.IGNORED_HEADS:
                d = L.COUNT_COMPARATIVE_HEADS[t]
                claims.append((k, "count", "higher" if d > 0 else "lower", True, " ".join(clause[k : h + 1])))
            continue
        if t in L.NUMBER_WORDS:
            nxt = clause[k + 1] if k + 1 < len(clause) else ""
            if nxt == "of" and k + 2 < len(clause) and clause[k + 2] in ("them", "these", "those"):
                claims.append((k, "count", L.NUMBER_WORDS[t], False, " ".join(clause[k : k + 3])))
                continue
            prev = clause[k - 1] if k else ""
            if (_head_after(clause, k + 1) is None and prev in _HAVE_VERBS
                    and (not nxt.isalnum() or nxt in _BARE_COUNT_FOLLOWERS)):
                # "holds one", "compared with two in the second": a count without its noun
                claims.append((k, "count", L.NUMBER_WORDS[t], False, f"{prev} {t}"))
                continue
            h = _head_after(clause, k + 1)
            if (h is not None and clause[h] not in L.HALLUCINATION_NOUNS and clause[h] not in L.IGNORED_HEADS
                    and not (clause[h] == "one" and h == k + 1)):
                claims.append((k, "count", L.NUMBER_WORDS[t], False, " ".join(clause[k : h + 1])))
            continue
        if t in L.OOV_COLORS:
            claims.append((k, "color", t, False, words))
            continue
        if t in L.OOV_SHAPES:
            claims.append((k, "shape", t.rstrip("s") if t.endswith("s") and t[:-1] in L.OOV_SHAPES else t, False, t))
            continue
        if t in L.ATTRIBUTE_NOUNS and not (t in ("shape", "shapes") and k > 0 and _is_modifier(clause[k - 1])):
            mentioned.append(L.ATTRIBUTE_NOUNS[t])
            continue
        v = L.VALUE_WORDS.get(t)
        if v is None:
            continue
        attr, value = v
        if attr == "position":
            if _position_at(clause, k):
                claims.append((k, attr, value, False, words))
        elif attr in ("color", "shape") or _head_after(clause, k + 1) is not None or _predicate(clause, k):
            claims.append((k, attr, value, False, words))
    return claims, mentioned


def _negated_at(clause: list[str], k: int, skip: frozenset[str] | set[str] = frozenset()) -> bool:
    """A negation cue earlier in the clause; its scope ends at a comma, "and" or "but"."""
    for m in range(k - 1, -1, -1):
        t = clause[m]
        if t in (",", "and", "but"):
            return False
        if t in L.NEGATION_CUES and t not in skip:
            return not (t == "no" and m + 1 < len(clause) and clause[m + 1] in ("longer", "doubt", "matter"))
    return False


# ---------------------------------------------------------------------------------------------------------------
# Checking claims against the records

_ORDER = {a: {v: n for n, v in enumerate(vals)} for a, vals in ATTRIBUTES.items()}


def _ordinal(attr: str, value: Any) -> float | None:
    if attr == "count":
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return _ORDER.get(attr, {}).get(value)


def _holds(c: Claim, subj: dict[str, Any], other: dict[str, Any]) -> bool | None:
    """Whether claim c is true of `subj` (compared with `other`); None when the records cannot say."""
    if c.attribute == "object":
        return c.negated  # nothing outside the world is ever in an image
    if c.attribute not in subj:
        return None
    if c.comparative:
        a, b = _ordinal(c.attribute, subj[c.attribute]), _ordinal(c.attribute, other.get(c.attribute))
        if a is None or b is None:
            return None
        result = a > b if c.value == "higher" else a < b
    else:
        result = _same(subj[c.attribute], c.value)
    return result != c.negated


def _verdict(c: Claim, rec_i: dict[str, Any], rec_j: dict[str, Any]) -> str | None:
    hi, hj = _holds(c, rec_i, rec_j), _holds(c, rec_j, rec_i)
    if hi is None or hj is None:
        return None
    if c.image in (I, J):
        here, there = (hi, hj) if c.image == I else (hj, hi)
        if here:
            return "correct"
        if there:
            return "reversed"
    elif c.image == BOTH:
        if hi and hj:
            return "correct"
    elif hi or hj:  # either: the text does not say which image
        return "correct"
    if c.attribute in L.HALLUCINABLE and not c.negated and not c.comparative and not (hi or hj):
        return "hallucinated"
    return "wrong"


def _distinguishes(c: Claim, rec_i: dict[str, Any], rec_j: dict[str, Any]) -> bool:
    """A correct claim that tells the two images apart (true of its image, false of the other)."""
    if c.verdict != "correct" or c.image not in (I, J):
        return False
    if c.comparative:
        return True
    subj, other = (rec_i, rec_j) if c.image == I else (rec_j, rec_i)
    return bool(_holds(c, subj, other)) and not _holds(c, other, subj)


def true_differences(rec_i: dict[str, Any], rec_j: dict[str, Any]) -> list[str]:
    """The world's attributes on which the two records differ, in ATTRIBUTES order."""
    return [a for a in ATTRIBUTES if a in rec_i and a in rec_j and not _same(rec_i[a], rec_j[a])]


# ---------------------------------------------------------------------------------------------------------------


def grade_comparison(text: str, rec_i: dict[str, Any], rec_j: dict[str, Any]) -> Grade:
    """Grade a comparison that describes image i (record `rec_i`) relative to image j (`rec_j`)."""
    text = (text or "").replace("\u201c", '"').replace("\u201d", '"')
    if text.count('"') % 2:
        text = text.replace('"', " ")  # unbalanced quotes (a truncated output): read them as plain text
    text = _QUOTE.sub(lambda m: _unquote(m.group(1), rec_i, rec_j), text)
    toks = _tokens(_normalise(text))
    claims: dict[tuple[str, str, str, bool, bool], Claim] = {}
    mentioned: list[str] = []
    last = EITHER
    for clause in _clauses(toks):
        if clause == ["<s>"]:
            continue
        markers = _find_markers(clause)
        subject, standard, std = _subject(clause, markers)
        if subject == "other":
            subject = _other(last)
        if standard == "other":
            standard = _other(subject or last)
        if subject is None:
            subject = _other(standard) if standard in (I, J) else last
        marker_toks = {k for s, e, _r in markers for k in range(s, e)}
        found, named = _extract(clause)
        mentioned += named
        for k, attr, value, comparative, words in found:
            if k in marker_toks:
                continue
            ref = subject
            if k in std and standard in (I, J) and not comparative:
                ref = standard  # "... than the blue square in the second image": said of the standard
            if comparative and ref not in (I, J):
                mentioned.append(attr)  # "one is larger": no direction to check
                continue
            if k in std and ref == standard:
                # "rather than blue like the second", "instead of the squares in the second": said of the standard
                negated = _negated_at(clause[std.start + 1 : k + 1], k - std.start - 1, skip={"rather", "instead"})
            else:
                negated = _negated_at(clause, k)
            if negated and attr == "shape" and k > 0 and _is_modifier(clause[k - 1]) and clause[k - 1] not in (
                    "a", "an", "the", "any", "and", ","):
                continue  # "has no two triangles": the negation is about the count, not about triangles
            c = Claim(attr, value, ref, negated, comparative, words=words)
            key = (c.attribute, str(c.value), c.image, c.negated, c.comparative)
            if key not in claims:
                claims[key] = c
        last = subject
    graded: list[Claim] = []
    for c in claims.values():
        v = _verdict(c, rec_i, rec_j)
        if v is not None:
            graded.append(Claim(**{**asdict(c), "verdict": v}))
    diffs = true_differences(rec_i, rec_j)
    covered = [a for a in diffs if any(c.attribute == a and _distinguishes(c, rec_i, rec_j) for c in graded)]
    return Grade(claims=graded, true_diffs=diffs, covered=covered, mentioned=sorted(set(mentioned)))
