"""The TUI's start: `pcclip-tui --help`, and a first frame that never imports torch (checked in a subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tui_helpers import make_demo_db, startup_probe

HEAVY = {"torch", "open_clip", "llama_cpp", "transformers", "sqlalchemy", "sqlmodel"}


def test_first_frame_imports_nothing_heavy(tmp_path: Path) -> None:
    demo = make_demo_db(tmp_path / "pcclip.db")
    marks = startup_probe(demo.path)
    assert marks["screen"] == "ExperimentsScreen"
    assert not HEAVY & set(marks["modules_at_first_paint"]), HEAVY & set(marks["modules_at_first_paint"])
    assert not {"torch", "open_clip"} & set(marks["modules"])  # nor by the time the first rows are shown
    # plotext is only needed by the Results and Run detail screens
    assert "plotext" not in marks["modules_at_first_paint"]


def test_cli_help() -> None:
    out = subprocess.run([sys.executable, "-m", "pcclip_tui", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--db" in out.stdout and "PCCLIP_DB" in out.stdout


def test_database_from_option_or_environment(tmp_path: Path, monkeypatch) -> None:
    from pcclip_tui.app import PcclipApp

    monkeypatch.setenv("PCCLIP_DB", str(tmp_path / "env.db"))
    assert PcclipApp().db_path == tmp_path / "env.db"
    assert PcclipApp(db=tmp_path / "opt.db").db_path == tmp_path / "opt.db"
