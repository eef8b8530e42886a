"""A database written by the first released schema (v1) opens under the current code: migrated, never dropped."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pcclip.store import SCHEMA_VERSION, open_store

V1_DUMP = Path(__file__).parent / "data" / "schema_v1.sql"


def _make_v1(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(V1_DUMP.read_text())
    conn.close()


def test_v1_database_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _make_v1(db)
    with sqlite3.connect(db) as c:
        assert c.execute("pragma user_version").fetchone()[0] == 1
        before = {t: c.execute(f"select count(*) from {t}").fetchone()[0]
                  for t in ("experiment", "job", "comparison", "run", "metric", "result")}
    open_store(db).close()
    with sqlite3.connect(db) as c:
        assert c.execute("pragma user_version").fetchone()[0] == SCHEMA_VERSION
        after = {t: c.execute(f"select count(*) from {t}").fetchone()[0] for t in before}
        assert after == before
        assert c.execute("select name from experiment").fetchall() == [("old",)]
        rows = c.execute("select llm, round(mean, 3) from ablation_summary order by llm").fetchall()
        assert rows == [("base", 0.55), ("oracle", 0.705)]
        assert c.execute("pragma integrity_check").fetchone()[0] == "ok"
    if SCHEMA_VERSION > 1:
        backup = tmp_path / "old.db.bak-v1"
        assert backup.exists()
        with sqlite3.connect(backup) as c:
            assert c.execute("pragma user_version").fetchone()[0] == 1
            assert c.execute("select count(*) from result").fetchone()[0] == before["result"]


def test_current_code_can_write_to_a_migrated_database(tmp_path: Path) -> None:
    from pcclip.store.tables import Experiment

    db = tmp_path / "old.db"
    _make_v1(db)
    store = open_store(db)
    with store.session() as s:
        s.add(Experiment(name="new", spec_text="", spec_hash="newhash"))
    store.close()
    with sqlite3.connect(db) as c:
        assert c.execute("select count(*) from experiment").fetchone()[0] == 2


def test_v2_adds_the_result_job_index(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _make_v1(db)
    with sqlite3.connect(db) as c:
        assert "ix_result_job_id" not in {r[1] for r in c.execute("pragma index_list(result)")}
    open_store(db).close()
    with sqlite3.connect(db) as c:
        assert "ix_result_job_id" in {r[1] for r in c.execute("pragma index_list(result)")}
