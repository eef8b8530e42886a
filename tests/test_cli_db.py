"""`pcclip db ...` and `pcclip --version`, run as real subprocesses."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from pcclip import __version__


def pcclip(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pcclip", *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})}, cwd=cwd,
    )


def test_version() -> None:
    out = pcclip("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"pcclip {__version__}"


def test_db_path_precedence(tmp_path: Path) -> None:
    assert pcclip("db", "path", cwd=tmp_path, env={"PCCLIP_DB": ""}).stdout.strip() == str(tmp_path / "pcclip.db")
    assert pcclip("db", "path", env={"PCCLIP_DB": str(tmp_path / "e.db")}).stdout.strip() == str(tmp_path / "e.db")
    out = pcclip("--db", str(tmp_path / "f.db"), "db", "path", env={"PCCLIP_DB": str(tmp_path / "e.db")})
    assert out.stdout.strip() == str(tmp_path / "f.db")


def test_db_sql_formats(db_file: Path) -> None:
    assert pcclip("--db", str(db_file), "db", "migrate").returncode == 0
    with sqlite3.connect(db_file) as c:
        c.execute("insert into experiment(name, spec_text, spec_hash, created_at) values ('e1','', 'h1', '2026-01-01')")
    q = "select name, spec_hash from experiment"
    out = pcclip("--db", str(db_file), "db", "sql", q, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [{"name": "e1", "spec_hash": "h1"}]
    out = pcclip("--db", str(db_file), "db", "sql", q, "--csv")
    assert out.stdout.splitlines() == ["name,spec_hash", "e1,h1"]
    out = pcclip("--db", str(db_file), "db", "sql", q)
    assert "e1" in out.stdout and "spec_hash" in out.stdout


def test_db_sql_is_read_only(db_file: Path) -> None:
    pcclip("--db", str(db_file), "db", "migrate")
    out = pcclip("--db", str(db_file), "db", "sql", "delete from experiment")
    assert out.returncode == 1
    assert "readonly" in out.stderr.lower() or "read-only" in out.stderr.lower()


def test_bad_db_paths_give_one_line_errors(tmp_path: Path) -> None:
    out = pcclip("--db", str(tmp_path), "db", "migrate")
    assert out.returncode == 1 and "is a directory" in out.stderr and "Traceback" not in out.stderr
    junk = tmp_path / "junk.db"
    junk.write_text("hello")
    out = pcclip("--db", str(junk), "db", "sql", "select 1")
    assert out.returncode == 1 and "not an SQLite database" in out.stderr
    assert junk.read_text() == "hello"
    out = pcclip("--db", str(tmp_path / "missing.db"), "db", "sql", "select 1")
    assert out.returncode == 1 and "no such database" in out.stderr
    assert not (tmp_path / "missing.db").exists()
