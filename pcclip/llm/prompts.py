"""Versioned prompt templates. A template's id is stored with every comparison; never edit a published template's
wording (add a new id instead), or stored pools would no longer say which words produced them."""

from __future__ import annotations

from dataclasses import dataclass

from pcclip.errors import SpecError


@dataclass(frozen=True)
class PromptTemplate:
    id: str
    template: str  # str.format with caption_i and caption_j
    description: str

    def render(self, caption_i: str, caption_j: str) -> str:
        return self.template.format(caption_i=_clean(caption_i), caption_j=_clean(caption_j))


def _clean(caption: str) -> str:
    # A caption's own double quotes would break the quoting the prompt relies on.
    return " ".join(caption.replace('"', "'").split())


PROMPTS: dict[str, PromptTemplate] = {
    p.id: p
    for p in (
        PromptTemplate(
            "paper-v1",
            'What is the visual difference between an image with a description of "{caption_i}" and an image '
            'with a description of "{caption_j}"?',
            "The paper's wording (default).",
        ),
        PromptTemplate(
            "one-sentence-v1",
            'What is the visual difference between an image with a description of "{caption_i}" and an image '
            'with a description of "{caption_j}"? Answer in one sentence that starts with "The first image".',
            "The paper's question, asking for one sentence about the first image relative to the second.",
        ),
        PromptTemplate(
            "one-sentence-v2",
            'Image 1: "{caption_i}"\nImage 2: "{caption_j}"\n'
            "In one sentence, say how the first image looks different from the second image. "
            'Start with "The first image".',
            "A shorter instruction for small models; one sentence, first image relative to the second.",
        ),
    )
}

DEFAULT_PROMPT = "paper-v1"


def get_prompt(prompt_id: str) -> PromptTemplate:
    try:
        return PROMPTS[prompt_id]
    except KeyError:
        raise SpecError(f"unknown prompt id {prompt_id!r}; known: {', '.join(sorted(PROMPTS))}") from None


def render_prompt(prompt_id: str, caption_i: str, caption_j: str) -> str:
    """The prompt asking how the image captioned `caption_i` differs from the one captioned `caption_j`."""
    return get_prompt(prompt_id).render(caption_i, caption_j)
