"""What the on-disk dataset adapters share: validated options, layout checks whose errors say which file
was expected where, a deterministic split for datasets without an official one, the unreadable-file
policy, and the fingerprint (kind + options + a cheap content signature)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pcclip.data.base import Dataset, Item
from pcclip.data.images import VerifyLevel, open_rgb, report_unreadable, screen_files
from pcclip.errors import PcclipError
from pcclip.hashing import stable_hash
from pcclip.progress import Progress, no_progress

if TYPE_CHECKING:
    from PIL.Image import Image


class LayoutError(PcclipError):
    """A dataset root is not in the layout its adapter reads."""


class AdapterOptions(BaseModel):
    """Options every on-disk adapter takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: Path = Field(description="dataset folder (see docs/datasets.md for the expected layout)")
    strict: bool = Field(False, description="fail on the first unreadable image instead of skipping it")
    verify: VerifyLevel = Field("fast", description="image screening at open: none, fast (headers, end markers), full")


class SplitOptions(AdapterOptions):
    """For data without an official split: images go to train/test by a hash of their relative path."""

    test_fraction: float = Field(
        0.2, ge=0.0, lt=1.0, description="share of images hashed into 'test' (0 gives one split 'all')"
    )


def parse_options(kind: str, model: type[BaseModel], options: dict[str, Any]) -> BaseModel:
    """Validate `options`, turning pydantic's report into one line that names the option."""
    try:
        return model(**options)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"]) or "options"
        known = ", ".join(model.model_fields)
        if err["type"] == "extra_forbidden":
            raise PcclipError(f"{kind}: unknown option {field!r}; known options: {known}") from None
        if err["type"] == "missing":
            raise PcclipError(f"{kind}: option {field!r} is required (e.g. root=/path/to/data)") from None
        raise PcclipError(f"{kind}: option {field}: {err['msg']}") from None


def describe_dir(path: Path, limit: int = 8) -> str:
    """A short listing of what IS at `path`, for layout errors."""
    if not path.exists():
        return f"{path} does not exist"
    if not path.is_dir():
        return f"{path} is a file, not a folder"
    try:
        names = sorted(os.listdir(path))
    except OSError as exc:
        return f"{path} cannot be listed ({exc.strerror})"
    if not names:
        return f"{path} is empty"
    shown = ", ".join(names[:limit]) + (f", ... ({len(names)} entries)" if len(names) > limit else "")
    return f"{path} holds: {shown}"


def locate(kind: str, root: Path, marker: str, subdirs: Sequence[str], what: str) -> Path:
    """The folder under `root` (itself or one of `subdirs`) that holds `marker`; else a LayoutError naming
    the expected path and what is really there."""
    for sub in ("", *subdirs):
        base = root / sub if sub else root
        if (base / marker).exists():
            return base
    expected = (root / subdirs[0] / marker) if subdirs else root / marker
    alt = f" (or {root / marker})" if subdirs else ""
    raise LayoutError(f"{kind}: expected {expected}{alt} ({what}); found: {describe_dir(root)}")


def require(kind: str, path: Path, what: str) -> Path:
    """`path` must exist; else a LayoutError that names it and lists its folder."""
    if not path.exists():
        raise LayoutError(f"{kind}: expected {path} ({what}); found: {describe_dir(path.parent)}")
    return path


def read_lines(kind: str, path: Path, what: str) -> list[str]:
    """Non-empty stripped lines of a required text index file."""
    require(kind, path, what)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise LayoutError(f"{kind}: cannot read {path} ({exc.strerror})") from None
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def hash_split(relpath: str, test_fraction: float) -> str:
    """'test' for a stable `test_fraction` share of paths, else 'train' (or 'all' when the fraction is 0).

    A hash of the relative path, not a seeded shuffle, so adding images never moves existing ones."""
    if test_fraction <= 0:
        return "all"
    h = int.from_bytes(hashlib.sha1(relpath.encode()).digest()[:8], "big") / 2.0**64
    return "test" if h < test_fraction else "train"


def file_signature(paths: Iterable[Path]) -> list[list[Any]]:
    """[name, size, mtime_ns] of each index file: cheap, and changes when the file does."""
    out: list[list[Any]] = []
    for p in paths:
        try:
            st = p.stat()
            out.append([p.name, st.st_size, st.st_mtime_ns])
        except OSError:
            out.append([p.name, None, None])
    return out


def listing_signature(root: Path, raw: dict[str, list[tuple[Any, ...]]]) -> str:
    """For data without index files: a hash of every image's split, relative path and size."""
    h = hashlib.sha256()
    for split, recs in raw.items():
        for r in recs:
            try:
                size = (root / r[0]).stat().st_size
            except OSError:
                size = -1
            h.update(f"{split}\t{r[0]}\t{size}\n".encode())
    return h.hexdigest()


def readable_name(raw: str) -> str:
    """Folder-style class names for prompts: underscores and plus signs become spaces."""
    return " ".join(raw.replace("_", " ").replace("+", " ").split())


def walk_images(folder: Path, relative_to: Path) -> list[str]:
    """Image files under `folder` (recursively, sorted, hidden entries skipped) as posix paths relative to
    `relative_to`."""
    from pcclip.data.images import is_image_file

    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        base = Path(dirpath)
        out.extend(
            (base / f).relative_to(relative_to).as_posix()
            for f in sorted(filenames)
            if is_image_file(f) and not f.startswith(".")
        )
    return out


class FileDataset(Dataset):
    """A dataset whose images are files under a root folder.

    Subclasses set `kind`, `Options`, and implement `_index()` returning {split: [(relpath, caption, label,
    attributes)]} plus `_signature_files()`; this class screens the files, applies the unreadable policy,
    numbers the items and loads images."""

    kind: ClassVar[str] = ""
    Options: ClassVar[type[AdapterOptions]] = AdapterOptions

    def __init__(self, progress: Progress = no_progress, **options: Any) -> None:
        self.options = parse_options(self.kind, self.Options, options)
        self.root = Path(self.options.root).expanduser().absolute()
        if not self.root.is_dir():
            raise LayoutError(f"{self.kind}: dataset root {self.root} is not a folder ({describe_dir(self.root)})")
        self._classnames: list[str] | None = None
        #: the folder the data really lives in (adapters that accept a parent folder narrow it in _index)
        self.data_dir = self.root
        raw = self._index()
        # The resolved data folder stands for `root`, so two spellings of the same dataset hash alike.
        opts = {**self.options.model_dump(mode="json"), "root": str(self.data_dir)}
        self._fingerprint = stable_hash({"kind": self.kind, "options": opts, "signature": self._signature(raw)})
        rel = list(dict.fromkeys(r[0] for recs in raw.values() for r in recs))  # an image may be in 2 splits
        bad = screen_files([self._path(r) for r in rel], self.options.verify, self._fingerprint, progress)
        bad_rel = {r for r in rel if str(self._path(r)) in bad}
        self.unreadable: list[tuple[str, str]] = sorted((r, bad[str(self._path(r))]) for r in bad_rel)
        report_unreadable(self.kind, [(str(self._path(r)), w) for r, w in self.unreadable], self.options.strict)
        self._items: dict[str, list[Item]] = {}
        for split, recs in raw.items():
            kept = [r for r in recs if r[0] not in bad_rel]
            self._items[split] = [
                Item(index=i, image=r[0], caption=r[1], label=r[2], attributes=r[3]) for i, r in enumerate(kept)
            ]

    # --- for subclasses -------------------------------------------------------------------------------
    def _index(self) -> dict[str, list[tuple[str, str | None, int | None, dict[str, Any] | None]]]:
        raise NotImplementedError

    def _signature(self, raw: dict[str, list[tuple[Any, ...]]]) -> Any:
        """Cheap content signature; defaults to size/mtime of the index files."""
        return file_signature(self._signature_files())

    def _signature_files(self) -> list[Path]:
        return []

    def _path(self, rel: str) -> Path:
        return self.root / rel

    # --- Dataset ----------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return f"{self.kind}:{self.root.name}"

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def classnames(self) -> list[str] | None:
        return self._classnames

    def splits(self) -> list[str]:
        return list(self._items)

    def _check_split(self, split: str) -> None:
        if split not in self._items:
            raise PcclipError(f"{self.name}: no split {split!r}; splits: {', '.join(self._items) or 'none'}")

    def items(self, split: str) -> Sequence[Item]:
        self._check_split(split)
        return self._items[split]

    def image_path(self, split: str, index: int) -> Path:
        """The absolute file of item `index` (for previews and logs; load pixels with `load_image`)."""
        self._check_split(split)
        return self._path(self._items[split][index].image)

    def load_image(self, split: str, index: int) -> Image:
        return open_rgb(self.image_path(split, index))

    def config(self) -> dict[str, Any]:
        """Flat {kind, name, **options} like the testbed's: the rest after kind and name reopens the dataset."""
        return {"kind": self.kind, "name": self.name, **self.options.model_dump(mode="json")}
