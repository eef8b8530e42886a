"""The `llama_cpp` backend: any GGUF model through llama-cpp-python, batched over many sequences.

`generate` renders each prompt with the model's own chat template (exactly as `create_chat_completion` would, by
running llama-cpp-python's chat handler up to the point where it would start the completion), then decodes all
prompts together in one multi-sequence context (`pcclip.llm.llama_batch`). `generate_sequential` is the plain
`create_chat_completion` loop, kept as the reference the fast path is checked and benchmarked against.
"""

from __future__ import annotations

import fnmatch
import math
import os
import time
from pathlib import Path
from typing import Any

from pcclip.errors import PcclipError
from pcclip.llm.base import Generation, SamplingParams
from pcclip.llm.local_models import GET_A_MODEL, cached_file_sha256, check_gguf

# Knobs of the batched context (the rest of llama_kwargs go to `llama_cpp.Llama`).
_BATCH_KEYS = ("kv_unified",)


class _Captured(Exception):
    """Raised by the recorder to stop a chat handler right where it would start generating."""

    def __init__(self, kwargs: dict[str, Any]) -> None:
        super().__init__("captured")
        self.kwargs = kwargs


class _PromptRecorder:
    """Stands in for `Llama` inside a chat handler and records the completion request it makes."""

    def __init__(self, llm: Any) -> None:
        self._llm = llm

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llm, name)

    def create_completion(self, **kwargs: Any) -> Any:
        raise _Captured(kwargs)


class LlamaCppBackend:
    """A GGUF model run by llama.cpp. See the module docstring for the two generation paths."""

    backend = "llama_cpp"

    def __init__(
        self,
        model_path: str,
        *,
        chat_format: str | None = None,
        n_ctx: int = 2048,
        n_gpu_layers: int = 0,
        n_threads: int | None = None,
        n_parallel: int = 8,
        **llama_kwargs: Any,
    ) -> None:
        path = Path(model_path).expanduser()
        check_gguf(path)
        batch_opts = {k: llama_kwargs.pop(k) for k in _BATCH_KEYS if k in llama_kwargs}
        kwargs = _llama_kwargs(chat_format, n_ctx, n_gpu_layers, n_threads, llama_kwargs)
        from llama_cpp import Llama

        try:
            llm = Llama(model_path=str(path), **kwargs)
        except (ValueError, RuntimeError, OSError) as exc:
            raise PcclipError(
                f"llama.cpp could not load {path} (corrupt or unsupported GGUF: {exc}): {GET_A_MODEL}"
            ) from exc
        if chat_format is None and (fallback := _fallback_chat_format(llm.metadata)):
            llm.chat_format = fallback
        self._setup(llm, path, str(path), n_parallel, batch_opts)

    @classmethod
    def from_hub(cls, repo_id: str, filename: str, **kw: Any) -> LlamaCppBackend:
        """Download (or reuse the hub cache's copy of) `filename` from model-hub repo `repo_id` and load it.

        `filename` may be a glob (`*Q4_K_M.gguf`). Needs the internet unless the file is already cached.
        """
        path = _hub_file(repo_id, filename)
        self = cls(str(path), **kw)
        self.model_id = f"hf://{repo_id}/{path.name}"
        return self

    def _setup(self, llm: Any, path: Path, model_id: str, n_parallel: int, batch_opts: dict[str, Any]) -> None:
        self.llm = llm
        self.path = path
        self.model_id = model_id
        self.file_sha256: str | None = cached_file_sha256(path)
        self.chat_format: str | None = llm.chat_format
        self.n_parallel = max(1, int(n_parallel))
        self._batch_opts = batch_opts
        self._decoder: Any = None

    # -- prompts -------------------------------------------------------------------------------------------
    def render(self, prompt: str, params: SamplingParams) -> tuple[list[int], list[str]]:
        """Prompt tokens and stop strings exactly as `create_chat_completion` would use them for this prompt."""
        from llama_cpp import llama_chat_format

        llm = self.llm
        handler = (
            llm.chat_handler
            or llm._chat_handlers.get(llm.chat_format)
            or llama_chat_format.get_chat_completion_handler(llm.chat_format)
        )
        try:
            handler(
                llama=_PromptRecorder(llm),
                messages=[{"role": "user", "content": prompt}],
                temperature=params.temperature,
                max_tokens=params.max_tokens,
                stop=list(params.stop),
            )
        except _Captured as cap:
            stop = cap.kwargs.get("stop") or []
            return list(cap.kwargs["prompt"]), [stop] if isinstance(stop, str) else list(stop)
        raise PcclipError(f"chat format {llm.chat_format!r} of {self.model_id} is not a plain text chat format")

    # -- generation ----------------------------------------------------------------------------------------
    def generate(self, prompts: list[str], params: SamplingParams) -> list[Generation]:
        """Decode all prompts together, `n_parallel` sequences at a time, sharing the common prompt prefix."""
        if not prompts:
            return []
        n_ctx = self.llm.n_ctx()
        rendered = [self.render(p, params) for p in prompts]
        out: list[Generation | None] = [None] * len(prompts)
        todo: list[int] = []
        for i, (tokens, _) in enumerate(rendered):
            if len(tokens) >= n_ctx:
                out[i] = Generation(
                    text="",
                    finish_reason="error",
                    extra={"error": f"prompt of {len(tokens)} tokens does not fit n_ctx={n_ctx}"},
                )
            else:
                todo.append(i)
        if todo:
            # The plain path's rule: max_tokens shrinks so that prompt + completion fit the context.
            limits = [
                min(params.max_tokens, n_ctx - len(rendered[i][0]))
                if params.max_tokens > 0
                else n_ctx - len(rendered[i][0])
                for i in todo
            ]
            need = max(len(rendered[i][0]) + m for i, m in zip(todo, limits))
            decoder = self._decoder_for(need)
            stops = [s.encode("utf-8") for s in rendered[todo[0]][1]]
            gens = decoder.run([rendered[i][0] for i in todo], params, stops, limits)
            for i, g in zip(todo, gens):
                out[i] = g
        return [g for g in out if g is not None]

    def _decoder_for(self, need: int) -> Any:
        """The batched context, (re)built when a call needs longer sequences than the current one holds."""
        from pcclip.llm.llama_batch import BatchDecoder

        n_ctx_seq = min(self.llm.n_ctx(), 256 * math.ceil(need / 256))
        if self._decoder is not None and self._decoder.n_ctx_seq >= n_ctx_seq:
            return self._decoder
        if self._decoder is not None:
            self._decoder.close()
        try:
            self._decoder = BatchDecoder(
                self.llm._model,
                self.llm.context_params,
                n_parallel=self.n_parallel,
                n_ctx_seq=n_ctx_seq,
                n_batch=max(int(self.llm.n_batch), self.n_parallel),
                **self._batch_opts,
            )
        except RuntimeError as exc:
            raise PcclipError(f"{exc}: lower n_parallel (now {self.n_parallel}) or max_tokens") from exc
        return self._decoder

    def generate_sequential(self, prompts: list[str], params: SamplingParams) -> list[Generation]:
        """The reference path: one `create_chat_completion` call per prompt."""
        out = []
        for prompt in prompts:
            t0 = time.perf_counter()
            try:
                res = self.llm.create_chat_completion(
                    messages=[{"role": "user", "content": prompt}],
                    max_tokens=params.max_tokens,
                    temperature=params.temperature,
                    top_p=params.top_p,
                    seed=params.seed,
                    stop=list(params.stop),
                )
            except ValueError as exc:  # e.g. the prompt does not fit n_ctx
                out.append(Generation(text="", finish_reason="error", extra={"error": str(exc)}))
                continue
            choice = res["choices"][0]
            out.append(
                Generation(
                    text=choice["message"]["content"] or "",
                    tokens=res["usage"]["completion_tokens"],
                    seconds=time.perf_counter() - t0,
                    finish_reason=choice["finish_reason"] or "",
                )
            )
        return out

    def close(self) -> None:
        if self._decoder is not None:
            self._decoder.close()
            self._decoder = None
        if getattr(self, "llm", None) is not None:
            self.llm.close()
            self.llm = None


def _llama_kwargs(
    chat_format: str | None, n_ctx: int, n_gpu_layers: int, n_threads: int | None, extra: dict[str, Any]
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"n_ctx": n_ctx, "n_gpu_layers": n_gpu_layers, "verbose": False}
    if n_threads is not None:
        kwargs["n_threads"] = n_threads
        kwargs.setdefault("n_threads_batch", n_threads)
    kwargs.update(extra)
    if chat_format is not None:
        kwargs["chat_format"] = chat_format
    return kwargs


def _fallback_chat_format(metadata: dict[str, str]) -> str | None:
    """A chat format for GGUFs that carry no chat template (None: keep llama-cpp-python's choice).

    Gemma base models ship without a template; llama-cpp-python then falls back to llama-2's format, which Gemma
    answers with an immediate end token (empty replies). Its own turn markers work.
    """
    if "tokenizer.chat_template" in metadata:
        return None
    return "gemma" if metadata.get("general.architecture", "").startswith("gemma") else None


def _hub_file(repo_id: str, filename: str) -> Path:
    """Local path of a model-hub file: the hub cache's copy, else a download (fails fast when offline)."""
    try:
        from huggingface_hub import HfFileSystem, hf_hub_download
    except ImportError as exc:
        raise PcclipError("loading from the model hub needs `pip install huggingface-hub`") from exc
    try:
        name = filename
        if any(ch in filename for ch in "*?["):
            files = [Path(f).name for f in HfFileSystem().ls(repo_id, detail=False)]
            matches = sorted(f for f in files if fnmatch.fnmatch(f, filename))
            if not matches:
                raise PcclipError(f"no file matching {filename!r} in model-hub repo {repo_id}: have {files[:8]}")
            name = matches[0]
        try:
            return Path(hf_hub_download(repo_id, name, local_files_only=True))
        except Exception:  # not cached yet
            if os.environ.get("HF_HUB_OFFLINE") not in (None, "", "0"):
                raise
            return Path(hf_hub_download(repo_id, name))
    except PcclipError:
        raise
    except Exception as exc:
        raise PcclipError(
            f"could not get {filename} from model-hub repo {repo_id} ({type(exc).__name__}; offline or "
            f"HF_HUB_OFFLINE set?): download the GGUF and pass its path instead"
        ) from exc
