"""Recording files pcclip made, addressed by their sha256."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from pcclip.hashing import file_sha256
from pcclip.store.engine import Store
from pcclip.store.tables import Artifact


def register_artifact(store: Store, path: str | Path, kind: str, job_id: int | None = None) -> Artifact:
    """Insert (or return the existing row for) the file at `path` with its hash and size."""
    p = Path(path).absolute()
    digest = file_sha256(p)
    with store.session() as s:
        existing = s.exec(select(Artifact).where(Artifact.path == str(p), Artifact.sha256 == digest)).first()
        if existing:
            return existing
        art = Artifact(path=str(p), sha256=digest, bytes=p.stat().st_size, kind=kind, job_id=job_id)
        s.add(art)
        s.flush()
        s.refresh(art)
        return art
