"""Opening image files safely, and screening a dataset's files for unreadable or truncated ones.

Policy (docs/datasets.md): when a dataset is opened its image files are screened; bad files are skipped
(left out of the splits, listed in `dataset.unreadable` and in one warning), or, with `strict=True`, the
open fails naming the first bad file. An image that passes the screen but still fails to decode later
raises `UnreadableImageError` naming the file. PIL's LOAD_TRUNCATED_IMAGES is never turned on: a cut
image is an error, not a grey half-picture.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pcclip.errors import PcclipError
from pcclip.progress import Progress, no_progress

if TYPE_CHECKING:
    from PIL.Image import Image

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp", ".gif")

#: "none": trust the index; "fast": file exists, header parses, JPEG/PNG end marker present (reads a few KB
#: per file); "full": decode every image (slow on big datasets; results are cached per dataset fingerprint).
VerifyLevel = Literal["none", "fast", "full"]


class UnreadableImageError(PcclipError):
    """An image file that cannot be decoded."""


class UnreadableImagesWarning(UserWarning):
    """Some image files of a dataset were skipped."""


def is_image_file(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def open_rgb(path: str | os.PathLike[str]) -> Image:
    """Decode `path` fully into an RGB image, or raise UnreadableImageError naming the file."""
    from PIL import Image as PILImage

    try:
        with PILImage.open(path) as im:
            im.load()
            return im.convert("RGB")
    except (OSError, SyntaxError, ValueError, PILImage.DecompressionBombError) as exc:
        raise UnreadableImageError(
            f"cannot read image {path}: {exc}; replace the file, or open the dataset with strict=false to skip it"
        ) from None


def _tail(path: Path, n: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - n))
        return fh.read()


def check_image(path: Path, level: VerifyLevel = "fast") -> str | None:
    """Why `path` is unusable, or None when it passes the check at `level`."""
    if level == "none":
        return None
    try:
        size = path.stat().st_size
    except OSError:
        return "missing"
    if size == 0:
        return "empty file"
    from PIL import Image as PILImage

    if level == "full":
        try:
            with PILImage.open(path) as im:
                im.load()
        except (OSError, SyntaxError, ValueError, PILImage.DecompressionBombError) as exc:
            return f"cannot decode ({exc})"
        return None
    try:
        with PILImage.open(path) as im:
            fmt = im.format
    except (OSError, SyntaxError, ValueError, PILImage.DecompressionBombError) as exc:
        return f"not a readable image ({type(exc).__name__})"
    try:
        # Truncated files lose their end marker. In JPEG entropy data 0xFF is always followed by 0x00 or a
        # restart marker, so FF D9 near the end means the stream ended (tolerates trailing padding).
        if fmt == "JPEG" and b"\xff\xd9" not in _tail(path, 2048):
            return "truncated (no JPEG end marker)"
        if fmt == "PNG" and b"IEND" not in _tail(path, 64):
            return "truncated (no PNG IEND chunk)"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    return None


def _stamp(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _screen_cache(key: str) -> Path:
    from pcclip.paths import cache_dir

    return cache_dir() / "datasets" / f"screen-{key}.json"


def screen_files(
    paths: Sequence[Path],
    level: VerifyLevel,
    cache_key: str | None = None,
    progress: Progress = no_progress,
) -> dict[str, str]:
    """Map of bad file (as given) -> reason. Uses a small thread pool (the work is I/O bound) and caches the
    answer under `cache_key` (a dataset fingerprint) so that reopening a large dataset is instant."""
    bad: dict[str, str] = {}
    if level == "none" or not paths:
        return bad
    cache = _screen_cache(f"{cache_key}-{level}") if cache_key else None
    if cache is not None and cache.is_file():
        # Good files are trusted (a later failure still raises in load_image); bad files that changed since
        # (replaced, re-downloaded) are checked again. A damaged cache entry is recomputed.
        try:
            for p, (why, stamp) in json.loads(cache.read_text()).items():
                if _stamp(Path(p)) == stamp or (why := check_image(Path(p), level)) is not None:
                    bad[p] = why
            return bad
        except (OSError, ValueError, TypeError, AttributeError):
            bad = {}
    total = len(paths)
    step = max(1, total // 100)
    with ThreadPoolExecutor(max_workers=8 if level == "fast" else 2) as pool:
        for i, (p, why) in enumerate(zip(paths, pool.map(lambda q: check_image(q, level), paths))):
            if why is not None:
                bad[str(p)] = why
            if (i + 1) % step == 0 or i + 1 == total:
                progress(i + 1, total, "checking image files")
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({p: [w, _stamp(Path(p))] for p, w in bad.items()}))
            tmp.replace(cache)
        except OSError:
            pass  # the cache is an optimisation only
    return bad


def report_unreadable(kind: str, bad: list[tuple[str, str]], strict: bool) -> None:
    """Apply the policy: raise naming the first bad file (strict) or warn once listing a few."""
    if not bad:
        return
    first, why = bad[0]
    if strict:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise UnreadableImageError(
            f"{kind}: unreadable image {first}: {why}{more}; fix or remove it, or open with strict=false to skip"
        )
    shown = ", ".join(f"{p} ({w})" for p, w in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    warnings.warn(
        f"{kind}: skipped {len(bad)} unreadable image file(s): {shown}{more}; see dataset.unreadable",
        UnreadableImagesWarning,
        stacklevel=3,
    )
