"""From an `LlmConfig` to a live backend. Backend modules (and their heavy libraries) are imported only here, on use."""

from __future__ import annotations

from pathlib import Path

from pcclip.errors import PcclipError
from pcclip.llm.base import Backend
from pcclip.llm.config import LOCAL_GGUF_ALIASES, LlmConfig


def resolve_gguf(cfg: LlmConfig) -> Path:
    """The GGUF file of a llama_cpp config: a packaged alias, a hub repo + file (downloaded once), or a path."""
    if cfg.model in LOCAL_GGUF_ALIASES:
        from pcclip.llm.local_models import default_gguf

        return Path(default_gguf(cfg.model))
    if cfg.model_file:
        try:
            from huggingface_hub import hf_hub_download

            return Path(hf_hub_download(repo_id=cfg.model, filename=cfg.model_file))
        except Exception as exc:  # offline, unknown repo, gated model...
            raise PcclipError(
                f"cannot get {cfg.model_file} from the model hub repo {cfg.model} ({type(exc).__name__}); "
                "download the GGUF yourself and pass its path as `model`"
            ) from None
    return Path(cfg.model).expanduser()


def make_backend(cfg: LlmConfig) -> Backend:
    """Open the backend `cfg` describes (loads the model; call `.close()` when done)."""
    if cfg.backend == "llama_cpp":
        from pcclip.llm.llama_cpp_backend import LlamaCppBackend

        return LlamaCppBackend(
            resolve_gguf(cfg),
            chat_format=cfg.resolved_chat_format,
            n_ctx=cfg.n_ctx,
            n_gpu_layers=cfg.n_gpu_layers,
            n_threads=cfg.n_threads,
            n_parallel=cfg.n_parallel,
        )
    if cfg.backend == "openai":
        from pcclip.llm.openai_backend import OpenAIBackend

        return OpenAIBackend(
            cfg.model,
            base_url=cfg.base_url,
            api_key_env=cfg.api_key_env,
            timeout_s=cfg.timeout_s,
            max_retries=cfg.max_retries,
            concurrency=cfg.concurrency,
        )
    if cfg.backend == "t5":
        from pcclip.llm.t5_backend import T5Backend

        return T5Backend(cfg.model, device=cfg.device)
    if cfg.backend == "template":
        from pcclip.llm.template_backend import TemplateBackend

        return TemplateBackend(cfg.resolved_model)
    raise PcclipError(f"unknown backend {cfg.backend!r}")  # unreachable: LlmConfig validates it
