"""The procedural testbed as a `Dataset`: validated config, deterministic renderer, cached splits.

Images of each split are rendered once into `cache_dir()/testbed/<config hash>/<split>.npy` (one uint8 array of
shape (n, size, size, 3)) with the split's scene records beside it as JSON, then memory-mapped on every reuse.
The same config always gives the same bytes: the scene of image i of a split depends only on (seed, split, i).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pcclip.data.base import Dataset, Item
from pcclip.data.testbed_world import (
    ATTRIBUTES,
    CLASS_ATTRIBUTES,
    SceneRecord,
    caption,
    class_names,
    sample_record,
)
from pcclip.errors import SpecError
from pcclip.hashing import stable_hash
from pcclip.paths import cache_dir
from pcclip.progress import Progress, no_progress

if TYPE_CHECKING:
    from PIL.Image import Image

    from pcclip.store import Store

SPLITS: tuple[str, ...] = ("train", "pool", "test")
_STREAM = {"train": 1, "pool": 2, "test": 3}  # per-split rng streams: splits never share a scene draw
_FORMAT_VERSION = 1  # bump when rendering changes, so old caches are not reused


class TestbedConfig(BaseModel):
    """What defines a testbed. Unknown fields and impossible values are rejected before any work starts."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    __test__: ClassVar[bool] = False  # not a pytest test class, despite its name

    seed: int = 0
    image_size: int = Field(64, description="side of the square images, in pixels")
    patch_size: int = Field(16, description="ViT patch size of the testbed's base model; image_size must hold 2+")
    n_train: int = Field(10000, description="images for pretraining the base model")
    n_pool: int = Field(2000, description="images whose captions feed comparison generation")
    n_test: int = Field(2000, description="images for evaluation (zero-shot and difference tasks)")
    vary: tuple[str, ...] = Field(tuple(ATTRIBUTES), description="attributes that vary; the others stay fixed")
    values: dict[str, tuple[Any, ...]] = Field(
        default_factory=dict, description="optional subset of allowed values per attribute"
    )
    noise: float = Field(3.0, description="std of per-pixel Gaussian noise (0-255 scale)")

    @field_validator("vary")
    @classmethod
    def _known_attributes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [a for a in v if a not in ATTRIBUTES]
        if unknown:
            raise ValueError(f"unknown attribute {unknown[0]!r}; allowed: {', '.join(ATTRIBUTES)}")
        return tuple(a for a in ATTRIBUTES if a in v)  # canonical order, so equal configs hash equally

    @field_validator("values")
    @classmethod
    def _known_values(cls, v: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
        for attr, vals in v.items():
            if attr not in ATTRIBUTES:
                raise ValueError(f"unknown attribute {attr!r}; allowed: {', '.join(ATTRIBUTES)}")
            bad = [x for x in vals if x not in ATTRIBUTES[attr]]
            if bad or not vals:
                raise ValueError(f"{attr}: value {bad[0] if bad else None!r} not in {list(ATTRIBUTES[attr])}")
        return {a: tuple(x for x in ATTRIBUTES[a] if x in v[a]) for a in ATTRIBUTES if a in v}

    @field_validator("n_train", "n_pool")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError(f"must be at least 1 image (got {v})")
        return v

    @field_validator("n_test")
    @classmethod
    def _pairs_possible(cls, v: int) -> int:
        if v < 2:
            raise ValueError(f"must be at least 2 images, to make test pairs (got {v})")
        return v

    @field_validator("noise")
    @classmethod
    def _noise(cls, v: float) -> float:
        if not 0 <= v <= 64:
            raise ValueError(f"must be between 0 and 64 (got {v})")
        return v

    @model_validator(mode="after")
    def _geometry(self) -> TestbedConfig:
        if self.patch_size < 1:
            raise ValueError(f"patch_size must be at least 1 (got {self.patch_size})")
        if self.image_size < 2 * self.patch_size or self.image_size % self.patch_size:
            raise ValueError(
                f"image_size {self.image_size} is too small for patch_size {self.patch_size}: "
                "use a multiple of the patch size holding at least 2 patches per side"
            )
        if self.image_size < 16:
            raise ValueError(f"image_size must be at least 16 pixels to draw shapes (got {self.image_size})")
        return self

    def allowed(self) -> dict[str, tuple[Any, ...]]:
        """Attribute -> values that can occur (fixed attributes show their single value)."""
        from pcclip.data.testbed_world import FIXED_DEFAULTS

        out: dict[str, tuple[Any, ...]] = {}
        for a, vals in ATTRIBUTES.items():
            options = self.values.get(a, vals)
            fixed = (FIXED_DEFAULTS[a],) if FIXED_DEFAULTS[a] in options else options[:1]
            out[a] = options if a in self.vary else fixed
        return out

    def key(self) -> str:
        return stable_hash({"v": _FORMAT_VERSION, **self.model_dump(mode="json")})


def testbed_config(**fields: Any) -> TestbedConfig:
    """Build a TestbedConfig, turning validation errors into one-line `SpecError`s that name the field."""
    try:
        return TestbedConfig(**fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise SpecError(f"testbed config: {loc + ': ' if loc else ''}{msg}") from None


# ---------------------------------------------------------------------------------------------------------------
# Rendering


def _polygon(shape: str, cx: float, cy: float, r: float, rot_deg: float) -> list[tuple[float, float]]:
    if shape == "square":
        angles = [45, 135, 225, 315]
        radii = [r] * 4
    elif shape == "triangle":
        angles = [-90, 30, 150]
        radii = [r] * 3
    else:  # star: ten points alternating outer and inner radius
        angles = [-90 + 36 * k for k in range(10)]
        radii = [r if k % 2 == 0 else 0.45 * r for k in range(10)]
    rot = np.deg2rad(rot_deg)
    return [
        (cx + rad * np.cos(np.deg2rad(a) + rot), cy + rad * np.sin(np.deg2rad(a) + rot))
        for a, rad in zip(angles, radii)
    ]


def render(rec: SceneRecord, size: int, noise: float = 0.0, noise_seed: int | Sequence[int] = 0) -> np.ndarray:
    """Draw `rec` as a (size, size, 3) uint8 array. Pure function of its arguments.

    Drawn at 4x and downsampled (box filter) for anti-aliased edges.
    """
    from PIL import Image as PILImage
    from PIL import ImageDraw

    ss = 4
    big = size * ss
    img = PILImage.new("RGB", (big, big), tuple(rec.background))
    draw = ImageDraw.Draw(img)
    colour = tuple(rec.rgb)
    for obj in rec.objects:
        cx, cy, r = obj.x * big, obj.y * big, obj.radius * big
        width = max(ss, int(round(0.28 * r)))
        if rec.shape == "circle":
            box = (cx - r, cy - r, cx + r, cy + r)
            if rec.fill == "solid":
                draw.ellipse(box, fill=colour)
            else:
                draw.ellipse(box, outline=colour, width=width)
        else:
            pts = _polygon(rec.shape, cx, cy, r, obj.rotation)
            if rec.fill == "solid":
                draw.polygon(pts, fill=colour)
            else:
                draw.polygon(pts, outline=colour, width=width)
    arr = np.asarray(img.resize((size, size), PILImage.Resampling.BOX), dtype=np.uint8)
    if noise > 0:
        rng = np.random.default_rng(noise_seed)
        arr = np.clip(arr.astype(np.float32) + rng.normal(0, noise, arr.shape), 0, 255).astype(np.uint8)
    return arr


# ---------------------------------------------------------------------------------------------------------------
# The dataset


def _split_size(config: TestbedConfig, split: str) -> int:
    return {"train": config.n_train, "pool": config.n_pool, "test": config.n_test}[split]


def _split_records(config: TestbedConfig, split: str) -> list[SceneRecord]:
    n = _split_size(config, split)
    allowed = config.allowed()
    return [
        sample_record(np.random.default_rng([config.seed, _STREAM[split], i]), config.vary, allowed)
        for i in range(n)
    ]


def _atomic_write_bytes(path: Path, write) -> None:  # noqa: ANN001 - a callable that writes to an open file
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class TestbedDataset(Dataset):
    """The testbed's fixed splits (train / pool / test), backed by cached uint8 arrays."""

    kind = "testbed"
    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, config: TestbedConfig, root: Path) -> None:
        self.cfg = config
        self.root = root
        self._records: dict[str, list[SceneRecord]] = {}
        self._arrays: dict[str, np.ndarray] = {}

    @property
    def name(self) -> str:
        return f"testbed-{self.cfg.key()[:8]}"

    @property
    def fingerprint(self) -> str:
        return self.cfg.key()

    @cached_property
    def _classnames(self) -> list[str]:
        return class_names(self.cfg.allowed())

    @property
    def classnames(self) -> list[str]:
        return list(self._classnames)

    def splits(self) -> list[str]:
        return list(SPLITS)

    def _check_split(self, split: str) -> None:
        if split not in SPLITS:
            raise SpecError(f"testbed has no split {split!r}; splits: {', '.join(SPLITS)}")

    def records(self, split: str) -> list[SceneRecord]:
        """The split's scene records, in item order."""
        self._check_split(split)
        if split not in self._records:
            raw = json.loads((self.root / f"{split}.records.json").read_text())
            self._records[split] = [SceneRecord.from_dict(d) for d in raw]
        return self._records[split]

    def label_of(self, rec: SceneRecord) -> int:
        return self._classnames.index(" ".join(str(rec.value(a)) for a in CLASS_ATTRIBUTES))

    @cached_property
    def _items(self) -> dict[str, list[Item]]:
        out: dict[str, list[Item]] = {}
        for split in SPLITS:
            out[split] = [
                Item(
                    index=i,
                    image=f"{split}/{i}",
                    caption=caption(rec, self.cfg.vary),
                    label=self.label_of(rec),
                    attributes=rec.to_dict(),
                )
                for i, rec in enumerate(self.records(split))
            ]
        return out

    def items(self, split: str) -> Sequence[Item]:
        self._check_split(split)
        return self._items[split]

    def images_array(self, split: str) -> np.ndarray:
        """All images of `split` as a read-only memory-mapped (n, size, size, 3) uint8 array."""
        self._check_split(split)
        if split not in self._arrays:
            self._arrays[split] = np.load(self.root / f"{split}.npy", mmap_mode="r")
        return self._arrays[split]

    def load_image(self, split: str, index: int) -> Image:
        from PIL import Image as PILImage

        return PILImage.fromarray(np.ascontiguousarray(self.images_array(split)[index]), mode="RGB")

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, **self.cfg.model_dump(mode="json")}


def _render_split(config: TestbedConfig, split: str, root: Path, progress: Progress, done0: int, total: int) -> None:
    recs = _split_records(config, split)
    arr = np.empty((len(recs), config.image_size, config.image_size, 3), dtype=np.uint8)
    step = max(1, len(recs) // 50)
    for i, rec in enumerate(recs):
        arr[i] = render(rec, config.image_size, config.noise, (config.seed, _STREAM[split], i, 7))
        if i % step == 0:
            progress(done0 + i, total, f"rendering {split}")
    payload = json.dumps([r.to_dict() for r in recs]).encode()
    _atomic_write_bytes(root / f"{split}.records.json", lambda fh: fh.write(payload))
    _atomic_write_bytes(root / f"{split}.npy", lambda fh: np.save(fh, arr))


def testbed_root(config: TestbedConfig) -> Path:
    """Where a config's images live in the per-machine cache."""
    return cache_dir() / "testbed" / config.key()


def build_testbed(config: TestbedConfig, progress: Progress = no_progress) -> TestbedDataset:
    """Render the testbed's splits into the cache (once per config) and open them."""
    root = testbed_root(config)
    marker = root / "config.json"
    if not marker.exists():
        root.mkdir(parents=True, exist_ok=True)
        total = config.n_train + config.n_pool + config.n_test
        done = 0
        for split in SPLITS:
            _render_split(config, split, root, progress, done, total)
            done += _split_size(config, split)
        # the marker is written last: a half-built folder is rebuilt, never half-read
        text = json.dumps(config.model_dump(mode="json"), indent=1).encode()
        _atomic_write_bytes(marker, lambda fh: fh.write(text))
        progress(total, total, "testbed images ready")
    return TestbedDataset(config, root)


def register_dataset(store: Store, ds: Dataset) -> int:
    """Insert the dataset into the store's `dataset` table (or find it by its fingerprint); returns its id."""
    from sqlmodel import select

    from pcclip.store.tables import Dataset as DatasetRow

    with store.session() as s:
        row = s.exec(select(DatasetRow).where(DatasetRow.config_hash == ds.fingerprint)).first()
        if row is None:
            n_items = sum(len(ds.items(sp)) for sp in ds.splits())
            root = str(getattr(ds, "root", ""))
            row = DatasetRow(
                name=ds.name,
                kind=ds.kind,
                root=root,
                config_json=json.dumps(ds.config(), sort_keys=True),
                config_hash=ds.fingerprint,
                n_items=n_items,
            )
            s.add(row)
            s.flush()
            s.refresh(row)
        assert row.id is not None
        return row.id


# names starting with "test" would otherwise be collected by pytest when a test module imports them
testbed_config.__test__ = False  # type: ignore[attr-defined]
testbed_root.__test__ = False  # type: ignore[attr-defined]
