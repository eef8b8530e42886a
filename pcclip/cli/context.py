"""State shared by every command: the database path chosen by --db or $PCCLIP_DB."""

from __future__ import annotations

from pathlib import Path

import typer

from pcclip.paths import db_path


def db_from(ctx: typer.Context) -> Path:
    root = ctx.find_root()
    explicit = (root.obj or {}).get("db") if isinstance(root.obj, dict) else None
    return db_path(explicit)
