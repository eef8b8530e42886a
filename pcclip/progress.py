"""The progress callback every long step accepts, so the same code reports to a rich bar
(single-step CLI commands) or to the job row's heartbeat (runner workers)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def __call__(self, done: float, total: float | None = None, message: str = "") -> None: ...


def no_progress(done: float, total: float | None = None, message: str = "") -> None:
    """A Progress that ignores updates."""
