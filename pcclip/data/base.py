"""The dataset interface every source implements (the testbed and real on-disk datasets alike),
and the difference-classification task format shared by evaluation.

Images are addressed by (split, index). A dataset knows its splits, each split's items
(caption, label, attribute record where it has them), and how to load one item's image.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # PIL is light, but keep the interface import-free
    from PIL.Image import Image


@dataclass(frozen=True)
class Item:
    """One image of a split."""

    index: int  # position within its split
    image: str  # file path (absolute, or relative to the dataset root); may be a key for array-backed data
    caption: str | None = None
    label: int | None = None  # index into Dataset.classnames
    attributes: dict[str, Any] | None = None  # ground-truth record, where the data has one


class Dataset(ABC):
    """A source of captioned and/or labelled images, read from a root folder."""

    #: adapter name used in specs (`testbed`, `imagefolder`, `cifar100`, ...)
    kind: str = ""

    @property
    @abstractmethod
    def name(self) -> str:
        """Human-readable name, unique per configuration."""

    @property
    @abstractmethod
    def fingerprint(self) -> str:
        """Stable hash of what defines the data (config and, where cheap, content). Cache keys use it."""

    @property
    def classnames(self) -> list[str] | None:
        """Class names for zero-shot classification, or None when the data has no labels."""
        return None

    @abstractmethod
    def splits(self) -> list[str]:
        """The split names, e.g. ["train", "pool", "test"]."""

    @abstractmethod
    def items(self, split: str) -> Sequence[Item]:
        """The split's items, in a fixed order."""

    @abstractmethod
    def load_image(self, split: str, index: int) -> Image:
        """The RGB image of item `index` of `split`."""

    def config(self) -> dict[str, Any]:
        """What is stored in the `dataset` table's config_json."""
        return {"kind": self.kind, "name": self.name}


@dataclass(frozen=True)
class DiffPair:
    """A test pair: `sentence` truly describes image `a` relative to image `b` (both in the task's split)."""

    a: int
    b: int
    sentence: str


@dataclass
class DiffTask:
    """A difference-based classification task: correct iff cos(text(s), norm(norm(img a) - norm(img b))) > 0.

    Equivalent to choosing the true order over the reversed one, so chance is 50%.
    """

    name: str  # e.g. "size"; stored as task "diff/<name>"
    split: str
    pairs: list[DiffPair]
    seed: int = 0
    chance: float = 0.5
    description: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
