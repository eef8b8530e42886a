"""Model loading through open_clip: architectures with pretrained tags, local checkpoints, the testbed's base
model; weight averaging; fingerprints for cache keys.

torch and open_clip are imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import json
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, model_validator

from pcclip.errors import PcclipError
from pcclip.hashing import file_sha256, stable_hash

if TYPE_CHECKING:
    import torch

#: folder of the JSON architecture configs pcclip ships (the testbed's small CLIPs)
MODEL_CONFIG_DIR = Path(__file__).parent / "model_configs"
#: the architecture the testbed's base model uses by default: a small ResNet image tower learns the shapes that a
#: patch-16 ViT of the same cost did not (zero-shot 97% vs 31% in trials; docs/testbed.md)
TESTBED_ARCH = "pcclip-testbed-rn"
#: the sidecar file written beside a testbed checkpoint: {"arch": ..., "image_size": ...}
SIDECAR_SUFFIX = ".model.json"

_registered = False
_lock = threading.Lock()


def register_model_configs() -> None:
    """Make pcclip's architectures (pcclip/model_configs/*.json) known to open_clip; idempotent."""
    global _registered
    with _lock:
        if _registered:
            return
        import open_clip

        open_clip.add_model_config(MODEL_CONFIG_DIR)
        _registered = True


class ModelRef(BaseModel):
    """Which model to load: an open_clip architecture (`name`) with a `pretrained` tag, a local `checkpoint`,
    or neither (random initialisation).

    `ModelRef.testbed(path)` points at a testbed base model (its architecture is read from the sidecar JSON);
    `ref.with_checkpoint(path)` is the same architecture with other weights (a finetune).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = TESTBED_ARCH
    pretrained: str | None = None  # open_clip tag, e.g. "laion2b_s34b_b79k", "openai", "datacomp_xl_s13b_b90k"
    checkpoint: str | None = None  # local weights file (open_clip / torch state dict)
    image_size: int | None = None  # override of the architecture's image size (testbed models)

    @model_validator(mode="after")
    def _one_source(self) -> ModelRef:
        if self.pretrained and self.checkpoint:
            raise ValueError("give a pretrained tag or a checkpoint, not both")
        return self

    @classmethod
    def testbed(cls, checkpoint: str | os.PathLike[str]) -> ModelRef:
        """The testbed base model saved by `pcclip.pretrain.pretrain_base` at `checkpoint`."""
        path = Path(checkpoint)
        side = path.with_name(path.name + SIDECAR_SUFFIX)
        if not side.exists():
            msg = f"{path}: not a testbed base model (no {side.name} beside it); run `pcclip testbed build`"
            raise PcclipError(msg)
        meta = json.loads(side.read_text())
        return cls(name=meta["arch"], checkpoint=str(path.absolute()), image_size=meta.get("image_size"))

    def with_checkpoint(self, checkpoint: str | os.PathLike[str]) -> ModelRef:
        """This architecture with the weights in `checkpoint` (e.g. a PC-CLIP finetune)."""
        return self.model_copy(update={"pretrained": None, "checkpoint": str(Path(checkpoint).absolute())})

    def __str__(self) -> str:
        src = self.pretrained or self.checkpoint or "random init"
        return f"{self.name} ({src})"


# ------------------------------------------------------------------------------------------------ fingerprints


@lru_cache(maxsize=64)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(path)


def model_fingerprint(ref: ModelRef) -> str:
    """A stable hash of what defines the model's outputs (architecture, weights, image size), for cache keys."""
    weights: str | None = None
    if ref.checkpoint:
        p = Path(ref.checkpoint)
        if not p.exists():
            raise PcclipError(f"checkpoint not found: {p}")
        st = p.stat()
        weights = _file_digest(str(p.absolute()), st.st_size, st.st_mtime_ns)
    return stable_hash(
        {"name": ref.name, "pretrained": ref.pretrained, "weights": weights, "image_size": ref.image_size}
    )


# ------------------------------------------------------------------------------------------------- loading


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A bounded probe (DNS can hang past a socket timeout, so it runs in a daemon thread)."""
    import socket

    ok: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection(("huggingface.co", 443), timeout=timeout).close()
            ok.append(True)
        except OSError:
            pass

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout + 0.5)
    return bool(ok)


def _weights_cached(cfg: dict[str, Any]) -> bool:
    """Whether open_clip would find these pretrained weights without the network."""
    if cfg.get("file"):
        return Path(cfg["file"]).exists()
    hub = cfg.get("hf_hub", "")
    if hub:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            return False
        repo, filename = os.path.split(hub)
        names = [filename] if filename else []
        names += ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        return any(isinstance(try_to_load_from_cache(repo, n), str) for n in names)
    url = cfg.get("url", "")
    return bool(url) and (Path("~/.cache/clip").expanduser() / os.path.basename(url)).exists()


def _check_pretrained(name: str, tag: str) -> None:
    """Fail fast (no ~50 s network wait) when a pretrained tag cannot be had."""
    import open_clip

    tags = open_clip.list_pretrained_tags_by_model(name)
    if tag not in tags:
        known = ", ".join(tags) or "none"
        raise PcclipError(f"model {name} has no pretrained tag {tag!r} (known: {known}); or give --checkpoint FILE")
    cfg = open_clip.get_pretrained_cfg(name, tag)
    if _weights_cached(cfg):
        return
    if _offline() or not _hub_reachable():
        raise PcclipError(
            f"pretrained weights {name}/{tag} are not in the local cache and the model hub is unreachable "
            f"(HF_HUB_OFFLINE={os.environ.get('HF_HUB_OFFLINE', '')!s}); download them where there is internet and "
            "pass --checkpoint path/to/open_clip_pytorch_model.bin"
        )


def _state_dict_of(path: Path) -> tuple[dict[str, torch.Tensor], str | None]:
    """The checkpoint's state dict and the architecture it declares (pcclip checkpoints carry `arch`)."""
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same one-line message
        raise PcclipError(f"cannot read checkpoint {path}: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    arch = None
    if isinstance(obj, dict) and "state_dict" in obj:
        arch = obj.get("arch") if isinstance(obj.get("arch"), str) else None
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj:
        raise PcclipError(f"checkpoint {path} holds no state dict")
    if next(iter(obj)).startswith("module."):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj, arch


def _shape_signature(sd: dict[str, Any]) -> dict[str, Any]:
    sig: dict[str, Any] = {}
    conv = sd.get("visual.conv1.weight")
    if conv is not None:
        sig["vision_width"], sig["patch_size"] = int(conv.shape[0]), int(conv.shape[-1])
    sig["vision_layers"] = len({k.split(".")[3] for k in sd if k.startswith("visual.transformer.resblocks.")})
    sig["text_layers"] = len({k.split(".")[2] for k in sd if k.startswith("transformer.resblocks.")})
    if "token_embedding.weight" in sd:
        sig["text_width"] = int(sd["token_embedding.weight"].shape[1])
    if "text_projection" in sd:
        sig["embed_dim"] = int(sd["text_projection"].shape[-1])
    return sig


def _known_models() -> list[str]:
    import open_clip

    register_model_configs()
    return open_clip.list_models()


def guess_architecture(sd: dict[str, Any]) -> str | None:
    """The open_clip architecture whose config matches the state dict's shapes (None when unknown)."""
    import open_clip

    register_model_configs()
    sig = _shape_signature(sd)
    for name in open_clip.list_models():
        cfg = open_clip.get_model_config(name) or {}
        v, t = cfg.get("vision_cfg", {}), cfg.get("text_cfg", {})
        if not isinstance(v.get("layers"), int):
            continue
        cand = {
            "vision_width": v.get("width"),
            "patch_size": v.get("patch_size"),
            "vision_layers": v.get("layers"),
            "text_layers": t.get("layers"),
            "text_width": t.get("width"),
            "embed_dim": cfg.get("embed_dim"),
        }
        if all(cand.get(k) == val for k, val in sig.items()):
            return name
    return None


def _check_architecture(
    model: torch.nn.Module, sd: dict[str, Any], declared: str | None, name: str, path: Path
) -> None:
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    wrong = [k for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]
    # positional embeddings may differ in length (open_clip resizes them); anything else is another architecture
    wrong = [k for k in wrong if "positional_embedding" not in k]
    if declared is not None and declared != name:
        theirs = declared
    elif missing or wrong:
        theirs = guess_architecture(sd) or "an unknown architecture"
    else:
        return
    hint = f"load it with --model {theirs}, or give" if theirs in _known_models() else "give"
    raise PcclipError(
        f"checkpoint {path} is for {theirs}, but the model requested is {name}: {hint} a {name} checkpoint"
    )


class _DropRecords:
    """A logging filter that drops records whose message starts with `prefix`."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def filter(self, record: Any) -> bool:
        return not str(record.getMessage()).startswith(self.prefix)


def load_model(ref: ModelRef, device: str = "cpu") -> tuple[Any, Any, Any]:
    """(model in eval mode on `device`, image preprocess, tokenizer) for `ref`, through open_clip's factory."""
    import open_clip

    register_model_configs()
    if ref.name not in open_clip.list_models():
        raise PcclipError(
            f"unknown architecture {ref.name!r}; list the known ones with "
            "`python -c 'import open_clip; print(open_clip.list_models())'`"
        )
    if ref.pretrained:
        if Path(ref.pretrained).expanduser().is_file():  # open_clip accepts a file as `pretrained` too
            return load_model(ref.model_copy(update={"pretrained": None, "checkpoint": ref.pretrained}), device)
        _check_pretrained(ref.name, ref.pretrained)
    kwargs: dict[str, Any] = {"force_image_size": ref.image_size} if ref.image_size else {}
    import logging

    # open_clip warns "initialized randomly" when it loads no weights; ours come from `ref.checkpoint` just below.
    quiet = _DropRecords("No pretrained weights loaded") if ref.checkpoint else None
    root = logging.getLogger()
    if quiet:
        root.addFilter(quiet)
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(
            ref.name, pretrained=ref.pretrained, device="cpu", load_weights=bool(ref.pretrained), **kwargs
        )
    finally:
        if quiet:
            root.removeFilter(quiet)
    if ref.checkpoint:
        path = Path(ref.checkpoint).expanduser()
        if not path.is_file():
            raise PcclipError(f"checkpoint not found: {path}")
        sd, declared = _state_dict_of(path)
        _check_architecture(model, sd, declared, ref.name, path)
        from open_clip.model import resize_pos_embed, resize_text_pos_embed

        resize_pos_embed(sd, model)  # a checkpoint made at another image size / context length still loads
        resize_text_pos_embed(sd, model)
        try:
            model.load_state_dict(sd, strict=True)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()
            raise PcclipError(f"checkpoint {path} does not fit {ref.name}: {' '.join(first[:2])[:300]}") from None
    model = model.to(device).eval()
    tokenizer = open_clip.get_tokenizer(ref.name)
    return model, preprocess, tokenizer


def save_checkpoint(model: torch.nn.Module, path: str | os.PathLike[str], arch: str, **meta: Any) -> Path:
    """Write `{"arch", "state_dict", **meta}` atomically; `load_model` reads it and checks `arch`."""
    import torch

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    torch.save({"arch": arch, "state_dict": model.state_dict(), **meta}, tmp)
    os.replace(tmp, out)
    return out


def average_weights(
    finetuned_state: dict[str, torch.Tensor], original_state: dict[str, torch.Tensor], alpha: float
) -> dict[str, torch.Tensor]:
    """`alpha * finetuned + (1 - alpha) * original` for floating-point tensors (others are taken from finetuned)."""
    if not 0.0 <= alpha <= 1.0:
        raise PcclipError(f"weight averaging alpha must be within [0, 1] (got {alpha})")
    if set(finetuned_state) != set(original_state):
        diff = sorted(set(finetuned_state) ^ set(original_state))
        raise PcclipError(f"cannot average weights of different architectures (keys differ, e.g. {diff[0]})")
    out = {}
    for k, ft in finetuned_state.items():
        orig = original_state[k]
        if ft.shape != orig.shape:
            raise PcclipError(f"cannot average weights: {k} has shape {tuple(ft.shape)} vs {tuple(orig.shape)}")
        out[k] = alpha * ft + (1 - alpha) * orig.to(ft.dtype) if ft.is_floating_point() else ft.clone()
    return out
