"""`LlmConfig`: one comparison generator (an "LLM arm"), validated; self-contained so a spec can embed it.

`key()` hashes only what changes the text (backend, model, chat format, endpoint, prompt, sampling, filter), never
the arm's display name or hardware settings (GPU layers, threads, concurrency, timeouts).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pcclip.errors import PcclipError, SpecError
from pcclip.hashing import stable_hash
from pcclip.llm.base import SamplingParams
from pcclip.llm.filter import FilterConfig
from pcclip.llm.prompts import PROMPTS

Backend = Literal["llama_cpp", "openai", "t5", "template"]

#: GGUF models that ship inside PyPI packages (resolved by `pcclip.llm.local_models.default_gguf`).
LOCAL_GGUF_ALIASES = ("smollm2-135m", "gemma3-270m")
#: the template backend's phrasings (bump when they change, so old pools stay attributable)
ORACLE_VERSIONS = ("oracle-v1", "oracle-v2")  # the last is the default
OPENAI_URL = "https://api.openai.com/v1"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class LlmConfig(BaseModel):
    """A comparison generator: which backend and model, how to sample, which prompt, how to filter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="the arm name users see, e.g. smollm2-135m")
    backend: Backend
    model: str = Field(
        "",
        description="GGUF path or alias (llama_cpp), hub repo with model_file (llama_cpp), API model name (openai), "
        "local folder or hub repo (t5), phrasing version (template)",
    )
    model_file: str | None = Field(None, description="file name inside the hub repo `model` (llama_cpp only)")
    chat_format: str | None = Field(None, description="llama.cpp chat format; None = the model's own template")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint (openai only); None = OpenAI")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key (openai)")
    n_gpu_layers: int = Field(0, ge=-1, description="layers offloaded to the GPU (llama_cpp); -1 = all")
    n_threads: int | None = Field(None, ge=1, description="CPU threads for llama.cpp; None = its default")
    n_ctx: int = Field(2048, ge=128)
    n_parallel: int = Field(8, ge=1, le=256, description="sequences decoded together (llama_cpp)")
    device: str = Field("auto", description="torch device for t5: auto, cpu, cuda, cuda:1, mps")
    concurrency: int = Field(4, ge=1, le=64, description="simultaneous requests (openai)")
    timeout_s: float = Field(60.0, gt=0, description="per-request timeout (openai)")
    max_retries: int = Field(4, ge=0, le=20, description="retries with backoff on rate limits and server errors")
    max_tokens: int = Field(96, ge=1, le=4096)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    sampling_seed: int = Field(0, ge=0)
    stop: tuple[str, ...] = ()
    prompt_id: str = "paper-v1"
    filter: FilterConfig = FilterConfig()
    max_n: int | None = Field(
        None,
        ge=1,
        description="this arm's largest N: it generates only that many comparisons and skips larger N arms (a slow "
        "local LLM can stop at a few hundred while the oracle goes to the whole pool); default dataset.pool_size",
    )
    grade_filter: str | None = Field(
        None,
        description="finetune only on comparisons whose attribute grade passes this rule (e.g. 'fully_correct', "
        "'precision>=0.5'; see docs/grading.md); the pool is shared with the unfiltered arm",
    )

    @field_validator("grade_filter")
    @classmethod
    def _grade_filter(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from pcclip.llm.grade_pool import rule_sql

        try:
            rule_sql(v)
        except PcclipError as exc:
            raise ValueError(str(exc)) from None
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("must be 1-64 characters of letters, digits, '.', '_', '+', '-', starting alphanumeric")
        return v

    @field_validator("prompt_id")
    @classmethod
    def _prompt(cls, v: str) -> str:
        if v not in PROMPTS:
            raise ValueError(f"unknown prompt id {v!r}; known: {', '.join(sorted(PROMPTS))}")
        return v

    @field_validator("api_key_env")
    @classmethod
    def _env(cls, v: str) -> str:
        if not _ENV.match(v):
            raise ValueError("must be an environment variable NAME (e.g. OPENAI_API_KEY), never the key itself")
        return v

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+", v):
            raise ValueError(f"{v!r} is not an http(s) URL (e.g. http://127.0.0.1:8000/v1)")
        return v.rstrip("/") if v else v

    @model_validator(mode="after")
    def _by_backend(self) -> LlmConfig:
        b = self.backend
        if b == "template":
            if self.model and self.model not in ORACLE_VERSIONS:
                raise ValueError(f"template model must be one of {', '.join(ORACLE_VERSIONS)} (or empty)")
        elif not self.model:
            hint = {
                "llama_cpp": "a GGUF path, an alias (" + ", ".join(LOCAL_GGUF_ALIASES) + "), or a hub repo",
                "openai": "an API model name such as gpt-4",
                "t5": "a local model folder or a hub repo such as google/flan-t5-xl",
            }[b]
            raise ValueError(f"backend {b} needs `model`: {hint}")
        if self.model_file is not None and b != "llama_cpp":
            raise ValueError("`model_file` only applies to backend llama_cpp (a GGUF file inside a hub repo)")
        if self.base_url is not None and b != "openai":
            raise ValueError("`base_url` only applies to backend openai")
        if self.chat_format is not None and b != "llama_cpp":
            raise ValueError("`chat_format` only applies to backend llama_cpp")
        return self

    # ----- derived -----
    @property
    def resolved_model(self) -> str:
        """The model as recorded (the template backend's default version filled in)."""
        if self.backend == "template":
            return self.model or ORACLE_VERSIONS[-1]
        if self.backend == "llama_cpp" and self.model_file:
            return f"{self.model}/{self.model_file}"
        return self.model

    @property
    def resolved_chat_format(self) -> str | None:
        # Gemma-3-270M ships as a base model without a chat template: without "gemma" it answers nothing.
        if self.chat_format is None and self.backend == "llama_cpp" and self.model == "gemma3-270m":
            return "gemma"
        return self.chat_format

    def sampling(self) -> SamplingParams:
        return SamplingParams(
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=self.sampling_seed,
            stop=tuple(self.stop),
        )

    def text_config(self) -> dict[str, Any]:
        """Everything that changes the text, and nothing else."""
        d: dict[str, Any] = {
            "backend": self.backend,
            "model": self.resolved_model,
            "prompt_id": self.prompt_id,
            "sampling": self.sampling().as_dict(),
            "filter": self.filter.model_dump(mode="json"),
        }
        if self.backend == "llama_cpp":
            d["chat_format"] = self.resolved_chat_format
        if self.backend == "openai":
            d["base_url"] = self.base_url or OPENAI_URL
        return d

    def key(self) -> str:
        """Stable hash of what changes the text (see `text_config`)."""
        return stable_hash(self.text_config())

    @classmethod
    def parse(cls, data: dict[str, Any], *, where: str = "llm") -> LlmConfig:
        """Validate a dict (e.g. a spec's [[llm]] table); errors become one-line SpecErrors naming the field."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise SpecError(f"{where}: {describe_validation_error(exc)}") from None


def describe_validation_error(exc: ValidationError) -> str:
    """One line per the project's rules: the field that is wrong and what is wrong with it."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ())) or "config"
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


#: Ready-made arms, by name. The local ones run here; the others need the internet (and a key or a GPU).
PRESETS: dict[str, dict[str, Any]] = {
    "smollm2-135m": {"backend": "llama_cpp", "model": "smollm2-135m"},
    "gemma3-270m": {"backend": "llama_cpp", "model": "gemma3-270m"},
    "oracle": {"backend": "template", "model": "oracle-v2"},
    "llama2-13b-chat": {
        "backend": "llama_cpp",
        "model": "TheBloke/Llama-2-13B-chat-GGUF",
        "model_file": "llama-2-13b-chat.Q4_K_M.gguf",
        "chat_format": "llama-2",
        "n_gpu_layers": -1,
    },
    "gpt-4": {"backend": "openai", "model": "gpt-4"},
    "flan-t5-xl": {"backend": "t5", "model": "google/flan-t5-xl"},
}


def preset(arm: str, /, **overrides: Any) -> LlmConfig:
    """A ready-made arm (see PRESETS), with optional field overrides (including `name`)."""
    if arm not in PRESETS:
        raise SpecError(f"unknown LLM {arm!r}; known: {', '.join(PRESETS)} (or give --backend and --model)")
    return LlmConfig.parse({"name": arm, **PRESETS[arm], **overrides}, where=f"llm {arm}")
