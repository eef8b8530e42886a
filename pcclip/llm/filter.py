"""The paper's output filter: keep the comparison an LLM wrote, drop what is not one.

Steps, in order (each rejection names its rule in `FilterResult.reason`):

1. Normalise: strip, collapse runs of whitespace and newlines into single spaces.
   An empty output is rejected as ``empty``.
2. Strip list / question-answer prefixes at the start (``1.``, ``-``, ``*``, ``#1:``, ``A:``, ``Answer:``,
   ``Response:``), repeatedly, so ``"A: 1. The first ..."`` keeps ``"The first ..."``.
3. Cut at the first follow-on marker (``Q:``, ``Note``, ``I hope``, ``#2:`` by default): what follows is the model
   starting another question, a disclaimer or a second list item, not part of the comparison.
4. Reject junk in what remains: code (a code fence or ``def``/``import`` lines), HTML tags, the ``Description:``
   marker, many ``*`` (markdown debris; ``max_asterisks``), non-ASCII characters (``allow_non_ascii``).
   The check runs after the cut on purpose: junk that only follows a follow-on marker was cut away with it.
5. Reject anything shorter than ``min_chars`` (60 in the paper) as ``too-short``.

The paper reports that filtering helps a little and is not essential; every rule can be switched off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_CUT_MARKERS = ("Q:", "Note", "I hope", "#2:")
DEFAULT_JUNK_MARKERS = ("Description:",)

_PREFIX = re.compile(
    r"^\s*(?:"
    r"\d{1,2}[.)]\s+"  # 1.  2)
    r"|#\d{1,2}:?\s*"  # #1:  #1
    r"|[-*\u2022]\s+"  # - item, * item, bullet
    r"|(?:A|Answer|Response|Output|Comparison)\s*:\s*"  # QA prefixes
    r")",
    re.IGNORECASE,
)
_HTML = re.compile(r"</?[a-zA-Z][\w:-]*(?:\s[^<>]*)?/?>")  # tags, and special tokens such as <start_of_turn>
_CODE = re.compile(r"```|^\s*(?:def |class |import |from \S+ import |#include)|\{\s*\"|;\s*$", re.MULTILINE)


class FilterConfig(BaseModel):
    """Settings of the output filter (defaults: the paper's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    min_chars: int = Field(60, ge=0, description="drop outputs shorter than this after cleaning")
    max_asterisks: int = Field(3, ge=0, description="drop outputs with more '*' than this")
    allow_non_ascii: bool = False
    strip_prefixes: bool = True
    cut_markers: tuple[str, ...] = DEFAULT_CUT_MARKERS
    junk_markers: tuple[str, ...] = DEFAULT_JUNK_MARKERS
    reject_code: bool = True
    reject_html: bool = True


@dataclass(frozen=True)
class FilterResult:
    text: str  # the cleaned comparison ("" when rejected)
    accepted: bool
    reason: str | None = None  # None when accepted, else the rule that rejected it


def _strip_prefixes(text: str) -> str:
    for _ in range(5):  # nested prefixes such as "A: 1. ..."
        new = _PREFIX.sub("", text, count=1)
        if new == text:
            break
        text = new
    return text.strip().strip('"').strip()


def _cut(text: str, markers: tuple[str, ...]) -> str:
    cut = len(text)
    for m in markers:
        pos = text.find(m)
        if pos != -1:
            cut = min(cut, pos)
    return text[:cut].strip()


def _junk(raw_kept: str, cfg: FilterConfig) -> str | None:
    if cfg.reject_code and _CODE.search(raw_kept):
        return "junk:code"
    if cfg.reject_html and _HTML.search(raw_kept):
        return "junk:html"
    for m in cfg.junk_markers:
        if m in raw_kept:
            return "junk:marker"
    if raw_kept.count("*") > cfg.max_asterisks:
        return "junk:asterisks"
    if not cfg.allow_non_ascii and not raw_kept.isascii():
        return "junk:non-ascii"
    return None


def filter_output(raw: str, cfg: FilterConfig | None = None) -> FilterResult:
    """Clean one raw LLM output and decide whether it is a usable comparison (see the module docstring)."""
    cfg = cfg or FilterConfig()
    raw = raw or ""
    if not raw.strip():
        return FilterResult("", False, "empty")
    if not cfg.enabled:
        return FilterResult(" ".join(raw.split()), True, None)
    # Cut before collapsing whitespace so that line-based code detection still sees the lines.
    text = raw.strip()
    if cfg.strip_prefixes:
        text = _strip_prefixes(text)
    text = _cut(text, cfg.cut_markers)
    reason = _junk(text, cfg)
    if reason:
        return FilterResult("", False, reason)
    text = " ".join(text.split())
    if cfg.strip_prefixes:
        text = _strip_prefixes(text)
    if not text:
        return FilterResult("", False, "empty")
    if len(text) < cfg.min_chars:
        return FilterResult("", False, "too-short")
    return FilterResult(text, True, None)
