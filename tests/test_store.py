"""The store: creation, pragmas, views, migrations, and refusing files that are not ours."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pcclip.errors import StoreError
from pcclip.store import APPLICATION_ID, SCHEMA_VERSION, open_store
from pcclip.store.tables import Experiment, Job, Result, Run

DOCUMENTED_TABLES = {
    "experiment", "dataset", "job", "experiment_job", "llm", "pool", "comparison",
    "comparison_grade", "run", "metric", "result", "artifact",
}


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as c:
        return {r[0] for r in c.execute("select name from sqlite_master where type in ('table','view')")}


def test_create_sets_pragmas_and_tables(db_file: Path) -> None:
    store = open_store(db_file)
    store.close()
    names = _tables(db_file)
    assert names >= DOCUMENTED_TABLES
    assert {"results", "run_summary", "ablation_summary"} <= names
    with sqlite3.connect(db_file) as c:
        assert c.execute("pragma journal_mode").fetchone()[0] == "wal"
        assert c.execute("pragma application_id").fetchone()[0] == APPLICATION_ID
        assert c.execute("pragma user_version").fetchone()[0] == SCHEMA_VERSION
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("pragma foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("pragma busy_timeout").scalar() >= 30000


def test_ablation_summary_mean_and_stderr(db_file: Path) -> None:
    store = open_store(db_file)
    with store.session() as s:
        exp = Experiment(name="t", spec_text="", spec_hash="h")
        s.add(exp)
        s.flush()
        job = Job(key="eval1", kind="eval")
        s.add(job)
        s.flush()
        from pcclip.store.tables import ExperimentJob

        s.add(ExperimentJob(experiment_id=exp.id, job_id=job.id))
        # Two training seeds of one arm, each evaluated on two pair-sampling seeds.
        for run_seed, vals in ((0, (0.6, 0.7)), (1, (0.8, 0.9))):
            run = Run(arm="oracle", n=100, seed=run_seed)
            s.add(run)
            s.flush()
            for eval_seed, v in enumerate(vals):
                s.add(Result(run_id=run.id, job_id=job.id, task="diff/size", seed=eval_seed,
                             metric="accuracy", value=v, chance=0.5))
        base = Run(arm="base", n=0, seed=0)
        s.add(base)
        s.flush()
        for eval_seed, v in enumerate((0.5, 0.52, 0.54)):
            s.add(Result(run_id=base.id, job_id=job.id, task="diff/size", seed=eval_seed,
                         metric="accuracy", value=v, chance=0.5))
    rows = {r[0]: r[1:] for r in sqlite3.connect(db_file).execute(
        "select llm, mean, stderr, n_runs, n_rows, chance, se_over from ablation_summary order by llm")}
    mean, se, n_runs, n_rows, chance, se_over = rows["oracle"]
    assert mean == pytest.approx(0.75)
    # Run means 0.65 and 0.85: sd = 0.1414, se = 0.1
    assert se == pytest.approx(0.1)
    assert (n_runs, n_rows, chance, se_over) == (2, 4, 0.5, "runs")
    mean, se, n_runs, _, _, se_over = rows["base"]
    assert mean == pytest.approx(0.52)
    assert se == pytest.approx(0.02 / 3**0.5)
    assert (n_runs, se_over) == (1, "eval_seeds")


def test_reopen_keeps_data(db_file: Path) -> None:
    store = open_store(db_file)
    with store.session() as s:
        s.add(Experiment(name="keep", spec_text="x", spec_hash="k"))
    store.close()
    store = open_store(db_file)
    with sqlite3.connect(db_file) as c:
        assert c.execute("select name from experiment").fetchall() == [("keep",)]
    store.close()


def test_directory_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        open_store(tmp_path)


def test_missing_folder_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "nope" / "x.db")


def test_garbage_file_is_left_untouched(tmp_path: Path) -> None:
    bad = tmp_path / "notes.db"
    payload = b"this is not sqlite at all\n" * 100
    bad.write_bytes(payload)
    with pytest.raises(StoreError, match="not an SQLite database"):
        open_store(bad)
    assert bad.read_bytes() == payload
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_corrupt_sqlite_is_left_untouched(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.db"
    with sqlite3.connect(bad) as c:
        c.execute("create table t(x)")
        c.executemany("insert into t values (?)", [("x" * 500,)] * 200)
    data = bytearray(bad.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # smash the schema page after the header
    bad.write_bytes(bytes(data))
    before = bad.read_bytes()
    with pytest.raises(StoreError, match="corrupt|malformed|not a database"):
        open_store(bad)
    assert bad.read_bytes() == before


def test_foreign_database_is_left_untouched(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as c:
        c.execute("create table invoices(id integer primary key, total real)")
        c.execute("insert into invoices(total) values (9.5)")
    before = other.read_bytes()
    with pytest.raises(StoreError, match="not a pcclip one"):
        open_store(other)
    assert other.read_bytes() == before


def test_newer_schema_is_refused(db_file: Path) -> None:
    open_store(db_file).close()
    with sqlite3.connect(db_file) as c:
        c.execute(f"pragma user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(StoreError, match="newer pcclip"):
        open_store(db_file)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_file_is_refused(db_file: Path) -> None:
    open_store(db_file).close()
    db_file.chmod(0o444)
    with pytest.raises(StoreError, match="read-only"):
        open_store(db_file)


def test_read_only_location_is_refused_for_root_too(tmp_path: Path) -> None:
    # A path under /proc cannot be created even by root: the message names the file.
    with pytest.raises(StoreError, match="cannot create|does not exist|not writable"):
        open_store(Path("/proc/pcclip-test/x.db"))


def test_concurrent_first_open_is_safe(tmp_path: Path) -> None:
    """Several processes creating the same database at once all succeed and agree on the schema."""
    db = tmp_path / "race.db"
    code = "import sys; from pcclip.store import open_store; open_store(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db)]) for _ in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    with sqlite3.connect(db) as c:
        assert c.execute("pragma user_version").fetchone()[0] == SCHEMA_VERSION
