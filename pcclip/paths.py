"""Where pcclip keeps things: the database, per-database work files, and the per-machine cache."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = "pcclip.db"


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The database path: an explicit `--db`, else `$PCCLIP_DB`, else `./pcclip.db`."""
    raw = explicit or os.environ.get("PCCLIP_DB") or DEFAULT_DB
    return Path(raw).expanduser().absolute()


def workdir(db: Path) -> Path:
    """Per-database files (job logs, checkpoints, embedding caches) live next to the database."""
    return db.parent / ".pcclip" / db.stem


def cache_dir() -> Path:
    """Per-machine cache shared by every database (testbed images, pretrained base models).

    Content-addressed by config hashes, so sharing it across databases never mixes results.
    """
    env = os.environ.get("PCCLIP_CACHE")
    if env:
        return Path(env).expanduser().absolute()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "pcclip"
