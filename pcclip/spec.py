"""Ablation specs: a TOML file -> a validated `Spec` (pydantic) with precise, one-line errors.

A spec says which data makes the comparison pool, which base model is finetuned, which LLMs write the
comparisons (the LLM arms), how many comparisons to use (the N arms), which training seeds, how to finetune
and evaluate, and where jobs run. Bundled specs live in the repository's `data/specs/` (`testbed`, the
default, and `paper`). Every field is documented in docs/spec.md.

The nested settings owned by other modules (`LlmConfig`, `TestbedConfig`, `PretrainConfig`, `FinetuneConfig`,
`EvalConfig`) are validated by those classes, so a spec can set any field they accept and nothing else.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

import pcclip
from pcclip.errors import SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_SPEC = "testbed"


def specs_dir() -> Path:
    """Where the bundled specs live (the repository's top-level data/specs)."""
    return Path(pcclip.__file__).resolve().parents[1] / "data" / "specs"


def bundled_specs() -> list[str]:
    d = specs_dir()
    return sorted(p.stem for p in d.glob("*.toml")) if d.is_dir() else []


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetSpec(_Strict):
    """The data whose pairs the LLMs compare (the comparison pool)."""

    kind: str = Field("testbed", description="dataset adapter: testbed, coco, imagefolder, csv, ...")
    options: dict[str, Any] = Field(default_factory=dict, description="adapter options (testbed: TestbedConfig)")
    split: str = Field("pool", description="the split whose captioned pairs make the pool")
    pool_size: int = Field(1000, ge=1, description="accepted comparisons wanted per LLM; the largest N")
    max_pairs: int | None = Field(
        None, ge=1, description="pairs an LLM may be asked at most to reach pool_size accepted (default 4 x pool_size)"
    )
    pool_seed: int = Field(0, ge=0, description="seed of the pair order (shared by every LLM arm)")


class BaseModelSpec(_Strict):
    """The CLIP model every arm starts from."""

    kind: Literal["testbed", "open_clip"] = "testbed"
    name: str = Field("", description="open_clip architecture (open_clip kind), e.g. ViT-L-14")
    pretrained: str | None = Field(None, description="open_clip pretrained tag or a checkpoint path")
    pretrain: dict[str, Any] = Field(default_factory=dict, description="PretrainConfig fields (testbed kind)")

    @model_validator(mode="after")
    def _check(self) -> BaseModelSpec:
        if self.kind == "open_clip" and not self.name:
            raise ValueError("kind open_clip needs `name` (an open_clip architecture such as ViT-L-14)")
        if self.kind == "open_clip" and self.pretrain:
            raise ValueError("`pretrain` only applies to kind testbed (the testbed base model is trained here)")
        return self


class AblationSpec(_Strict):
    """The grid: comparisons per run (N) and training seeds."""

    n: list[int] = Field(description="numbers of comparisons; 0 = the base model, evaluated once")
    seeds: list[int] = Field(description="training seeds of every finetune")
    subset: Literal["seeded", "prefix"] = Field(
        "seeded",
        description="which N comparisons a run trains on: 'seeded' = the first N of the seed's own shuffled order of "
        "a pool window (the smallest arm pool holding N), so seeds see different comparisons and every LLM arm at one "
        "N draws from the same pairs; "
        "'prefix' = the first N in pool order for every seed (seeds then differ only in batch order, and not at all "
        "when N <= batch size)",
    )

    @field_validator("n")
    @classmethod
    def _n(cls, v: list[int]) -> list[int]:
        if not v:
            raise ValueError("needs at least one value")
        if any(x < 0 for x in v):
            raise ValueError(f"values must be >= 0, got {v}")
        if len(set(v)) != len(v):
            raise ValueError(f"values must be distinct, got {v}")
        return sorted(v)

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: list[int]) -> list[int]:
        if not v:
            raise ValueError("needs at least one seed")
        if any(x < 0 for x in v) or len(set(v)) != len(v):
            raise ValueError(f"seeds must be distinct and >= 0, got {v}")
        return v


class EvalDatasetSpec(_Strict):
    """One dataset the models are evaluated on."""

    kind: str = "testbed"
    options: dict[str, Any] = Field(default_factory=dict, description="adapter options (testbed: the pool's own)")
    split: str = "test"


class EvaluationSpec(_Strict):
    """Where and how every model (the base and each finetune) is evaluated."""

    datasets: list[EvalDatasetSpec] = Field(default_factory=lambda: [EvalDatasetSpec()])
    config: dict[str, Any] = Field(default_factory=dict, description="EvalConfig fields")
    plot_tasks: list[str] = Field(
        default_factory=lambda: ["diff/mean", "zeroshot/*"],
        description="tasks shown as plots after a run ('prefix/*' = every task with that prefix)",
    )


class SlurmSpec(_Strict):
    partition: str | None = None
    account: str | None = None
    time_min: int = Field(240, ge=1)
    gpus_per_node: int = Field(1, ge=0)
    cpus_per_task: int = Field(8, ge=1)
    mem_gb: int = Field(32, ge=1)
    additional: dict[str, Any] = Field(default_factory=dict, description="extra #SBATCH parameters")


class ExecutorSpec(_Strict):
    """Where and how many jobs run. Never part of a job's key: it does not change results."""

    kind: Literal["local", "slurm", "submitit-local"] = "local"
    jobs: int = Field(1, ge=1, le=256, description="jobs run at once")
    max_attempts: int = Field(3, ge=1, le=20, description="attempts per job before it is marked failed")
    heartbeat_s: float = Field(2.0, gt=0, le=60, description="seconds between a worker's heartbeats")
    stale_after_s: float = Field(60.0, gt=0, description="a running job without a heartbeat this long is dead")
    devices: list[int] | None = Field(None, description="GPU indices to place jobs on (None = all visible)")
    slurm: SlurmSpec = Field(default_factory=SlurmSpec)

    @model_validator(mode="after")
    def _check(self) -> ExecutorSpec:
        if self.stale_after_s < 3 * self.heartbeat_s:
            raise ValueError("stale_after_s must be at least 3 x heartbeat_s (or live workers look dead)")
        return self


class SelftestSpec(_Strict):
    """A health check of the job runner: the ablation's DAG with no models (see docs/spec.md)."""

    steps: int = Field(10, ge=1, le=100_000)
    step_seconds: float = Field(0.05, ge=0, le=60)
    metrics_per_step: int = Field(1, ge=1, le=1000)


class Spec(_Strict):
    """A whole ablation."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
    description: str = ""
    dataset: DatasetSpec = Field(default_factory=DatasetSpec)
    base_model: BaseModelSpec = Field(default_factory=BaseModelSpec)
    llm: list[dict[str, Any]] = Field(default_factory=list, description="LLM arms: LlmConfig tables")
    ablation: AblationSpec
    finetune: dict[str, Any] = Field(default_factory=dict, description="FinetuneConfig fields")
    evaluation: EvaluationSpec = Field(default_factory=EvaluationSpec)
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)
    selftest: SelftestSpec | None = None

    @model_validator(mode="after")
    def _check(self) -> Spec:
        names = [str(a.get("name", "")) for a in self.llm]
        dup = sorted({x for x in names if names.count(x) > 1})
        if dup:
            raise ValueError(f"LLM arm names must be distinct; repeated: {', '.join(dup)}")
        if "base" in names:
            raise ValueError("'base' is reserved for the N = 0 model; rename that LLM arm")
        if any(n > 0 for n in self.ablation.n) and not self.llm:
            raise ValueError("N values above 0 need at least one [[llm]] arm")
        positive = [n for n in self.ablation.n if n > 0]
        for a in self.llm:
            if a.get("max_n") and positive and a["max_n"] < min(positive):
                raise ValueError(f"llm {a.get('name')}: max_n = {a['max_n']} is below every N > 0 ({positive}); "
                                 "raise it or drop the arm")
        too_big = [n for n in self.ablation.n if n > self.dataset.pool_size]
        if too_big:
            raise ValueError(f"ablation.n {too_big} exceed dataset.pool_size = {self.dataset.pool_size}")
        if self.base_model.kind == "testbed" and self.dataset.kind != "testbed" and self.selftest is None:
            raise ValueError("base_model kind testbed needs dataset kind testbed (its images pretrain the model)")
        return self

    # ----- derived -----
    def llm_configs(self) -> list[Any]:
        """The LLM arms as `LlmConfig` objects."""
        from pcclip.llm.config import LlmConfig

        return [LlmConfig.model_validate(a) for a in self.llm]


# ----- nested configs owned by other modules: validated lazily, so `spec` imports stay light -----

_NESTED: dict[str, tuple[str, str]] = {
    # spec location -> (module, class)
    "finetune": ("pcclip.train", "FinetuneConfig"),
    "evaluation.config": ("pcclip.evaluate", "EvalConfig"),
    "base_model.pretrain": ("pcclip.pretrain", "PretrainConfig"),
    "dataset.options": ("pcclip.data.testbed", "TestbedConfig"),
}


def nested_class(where: str) -> type | None:
    """The config class validating a nested table, or None when its module is not installed yet."""
    mod, cls = _NESTED[where]
    try:
        module = importlib.import_module(mod)
    except ModuleNotFoundError as exc:
        if exc.name == mod:  # that part of pcclip is not installed: keep the table as written
            return None
        raise SpecError(f"{where}: cannot load {mod} to validate it ({exc})") from None
    except ImportError as exc:  # a broken install must not silently change job keys
        raise SpecError(f"{where}: cannot load {mod} to validate it ({exc})") from None
    return getattr(module, cls, None)


def validate_nested(where: str, data: dict[str, Any]) -> dict[str, Any]:
    """Validate `data` with its owner's config class and return the full (defaults filled in) dict."""
    cls = nested_class(where)
    if cls is None:
        return dict(data)
    data = dict(data)
    profile = data.pop("profile", None)
    if profile is not None:  # `profile = "testbed"`: the owner's named defaults, the other fields override them
        profiles = getattr(cls, "profile", None)
        known = getattr(importlib.import_module(cls.__module__), "PROFILES", {})
        if profiles is None or profile not in known:
            raise _NestedError([(f"{where}.profile", f"unknown profile; choose one of {', '.join(known)}", profile)])
        data = {**known[profile], **data}
    try:
        obj = cls.model_validate(data) if hasattr(cls, "model_validate") else cls(**data)
    except ValidationError as exc:
        raise _NestedError(
            [(f"{where}.{_loc(e['loc'])}".rstrip("."), e["msg"], e.get("input")) for e in exc.errors()]
        ) from None
    except (TypeError, ValueError) as exc:
        raise _NestedError([(where, str(exc), data)]) from None
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    import dataclasses

    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else dict(data)


class _NestedError(Exception):
    def __init__(self, errors: list[tuple[str, str, Any]]):
        self.errors = errors


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _fmt_input(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


class SpecValidationError(SpecError):
    """A spec is invalid; `lines` holds one line per problem (the message shows the first)."""

    def __init__(self, source: str, lines: list[str]):
        self.lines = [f"{source}: {ln}" for ln in lines]
        more = f" (and {len(lines) - 1} more; run `pcclip spec validate {source}`)" if len(lines) > 1 else ""
        super().__init__(self.lines[0] + more)


def _describe(exc: ValidationError) -> list[str]:
    lines = []
    for e in exc.errors():
        loc = _loc(e["loc"]) or "spec"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "missing":
            lines.append(f"{loc}: required field missing")
        elif e["type"] == "extra_forbidden":
            lines.append(f"{loc}: unknown field (see docs/spec.md for the fields a spec accepts)")
        else:
            lines.append(f"{loc}: {msg} (got {_fmt_input(e.get('input'))})")
    return lines


def parse_spec(data: dict[str, Any], source: str = "<spec>") -> Spec:
    """Validate a spec dict, including the nested configs and every LLM arm."""
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecValidationError(source, _describe(exc)) from None
    lines: list[str] = []
    from pcclip.llm.config import LlmConfig

    arms = []
    for i, arm in enumerate(spec.llm):
        try:
            arms.append(LlmConfig.model_validate(arm).model_dump(mode="json"))
        except ValidationError as exc:
            label = f"llm[{i}]" + (f" ({arm['name']})" if isinstance(arm.get("name"), str) else "")
            lines += [f"{label}.{ln}" for ln in _describe(exc)]
    nested: dict[str, dict[str, Any]] = {}
    targets = {"finetune": spec.finetune, "evaluation.config": spec.evaluation.config}
    if spec.base_model.kind == "testbed":
        targets["base_model.pretrain"] = spec.base_model.pretrain
    if spec.dataset.kind == "testbed":
        targets["dataset.options"] = spec.dataset.options
    for where, value in targets.items():
        try:
            nested[where] = validate_nested(where, value)
        except _NestedError as exc:
            lines += [
                f"{loc}: {msg.removeprefix('Value error, ')} (got {_fmt_input(inp)})" for loc, msg, inp in exc.errors
            ]
    if lines:
        raise SpecValidationError(source, lines)
    # Keep the validated, defaults-filled forms: job keys hash them, so a changed default is a new job.
    spec.llm = arms
    spec.finetune = nested["finetune"]
    spec.evaluation.config = nested["evaluation.config"]
    if "base_model.pretrain" in nested:
        spec.base_model.pretrain = nested["base_model.pretrain"]
    if "dataset.options" in nested:
        spec.dataset.options = nested["dataset.options"]
    return spec


def resolve_spec_path(name_or_path: str | Path | None) -> Path:
    """A bundled spec name (`testbed`, `paper`) or a path to a TOML file."""
    raw = str(name_or_path) if name_or_path is not None else DEFAULT_SPEC
    p = Path(raw).expanduser()
    if p.suffix == ".toml" or p.exists() or "/" in raw:
        if not p.is_file():
            raise SpecError(
                f"{raw}: no such spec file; give a path to a .toml file or one of: {', '.join(bundled_specs())}"
            )
        return p.absolute()
    bundled = specs_dir() / f"{raw}.toml"
    if not bundled.is_file():
        raise SpecError(f"unknown spec {raw!r}; bundled specs: {', '.join(bundled_specs())} (or give a .toml path)")
    return bundled


def load_spec_text(name_or_path: str | Path | None) -> tuple[Path, str]:
    p = resolve_spec_path(name_or_path)
    try:
        return p, p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{p}: cannot read the spec ({exc})") from None


def spec_from_text(text: str, source: str = "<spec>") -> Spec:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{source}: not valid TOML: {exc}") from None
    return parse_spec(data, source)


def load_spec(name_or_path: str | Path | None = None) -> tuple[Spec, str]:
    """(validated spec, its TOML text) for a bundled name or a path; None = the default testbed spec."""
    p, text = load_spec_text(name_or_path)
    return spec_from_text(text, str(p)), text
