"""The one small interface every comparison backend implements.

A backend turns user prompts (plain strings; the backend applies its model's own chat template,
if it has one) into generations. It takes a whole list at once so that backends that can batch
(llama.cpp with several sequences, an HTTP client with concurrent requests) do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class SamplingParams:
    """Decoding settings; recorded with every pool as provenance."""

    max_tokens: int = 96
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed,
            "stop": list(self.stop),
        }


@dataclass
class Generation:
    """One raw model output."""

    text: str
    tokens: int = 0  # generated tokens
    seconds: float = 0.0  # wall time attributed to this output
    finish_reason: str = ""  # "stop", "length", "error", ...
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """What generation needs from an LLM."""

    backend: str  # llama_cpp | openai | t5 | template
    model_id: str  # path, hub repo/file, or API model name
    file_sha256: str | None  # of the weights file where there is one

    def generate(self, prompts: list[str], params: SamplingParams) -> list[Generation]:
        """One generation per prompt, in order. Must not raise on junk output (return it as text)."""
        ...

    def close(self) -> None:
        """Release the model (memory, servers, connections)."""
        ...
