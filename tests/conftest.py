"""Shared test setup: no model hub, a per-session machine cache, and a fresh database per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Point the per-machine cache at a folder of this test session (unless the caller chose one)."""
    if "PCCLIP_TEST_CACHE" in os.environ:
        path = Path(os.environ["PCCLIP_TEST_CACHE"])
    else:
        path = tmp_path_factory.mktemp("pcclip-cache")
    os.environ["PCCLIP_CACHE"] = str(path)
    return path


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    """Path of a not-yet-created database file in a fresh folder."""
    return tmp_path / "pcclip.db"
