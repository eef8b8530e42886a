"""Every SQL statement the TUI issues, on read-only sqlite3 connections.

Plain sqlite3 rather than the sqlmodel engine: importing SQLAlchemy costs ~0.5 s, which would blow the
first-frame budget, and these are small read-only SELECTs. Each function takes an open connection and
returns plain dicts, so the screens stay free of SQL and benchmarks/bench_tui_queries.py can time them all.
Every query is bounded (LIMIT) or served by an index, so a 10,000-run database stays responsive.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

APPLICATION_ID = 0x50434C50  # same marker as pcclip.store.engine (kept literal: that module imports SQLAlchemy)
ROW_LIMIT = 500  # rows a table shows at once; more are reached by search/filter, not by scrolling 1e6 rows
# Job statuses (pcclip.jobs.state): pending -> queued -> running -> done | failed | cancelled, via cancelling.
STATUS_ORDER = "CASE status WHEN 'running' THEN 0 WHEN 'cancelling' THEN 1 WHEN 'queued' THEN 2 " \
    "WHEN 'pending' THEN 3 WHEN 'failed' THEN 4 WHEN 'cancelled' THEN 5 ELSE 6 END"

Row = dict[str, Any]


class DbUnavailable(Exception):
    """The database is missing, empty or not ours; the message says what to run."""


def connect(path: Path) -> sqlite3.Connection:
    """A read-only connection (mode=ro + query_only): the TUI can never change results."""
    if not path.exists():
        raise DbUnavailable(f"No database at {path}. Run `pcclip run` to make one (or pass --db PATH).")
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=10, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA query_only = ON")
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        n_tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise DbUnavailable(f"{path}: cannot read it as a database ({exc}).") from exc
    if app_id != APPLICATION_ID:
        conn.close()
        if n_tables:
            raise DbUnavailable(f"{path}: an SQLite file, but not a pcclip database. Pass another --db.")
        raise DbUnavailable(f"{path} is empty. Run `pcclip run` to fill it.")
    return conn


def change_token(path: Path) -> tuple:
    """Cheap 'did anything change' token: every commit touches the WAL file (or the db after a checkpoint)."""
    token = []
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            st = os.stat(p)
            token.append((st.st_mtime_ns, st.st_size))
        except OSError:
            token.append(None)
    return tuple(token)


def _all(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> list[Row]:
    return [dict(r) for r in conn.execute(sql, params).fetchall()]


def _one(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> Row | None:
    r = conn.execute(sql, params).fetchone()
    return dict(r) if r else None


def counts(conn: sqlite3.Connection) -> Row:
    """How much is in the database (for the empty state and the header)."""
    return _one(
        conn,
        "SELECT (SELECT count(*) FROM experiment) AS experiments, (SELECT count(*) FROM dataset) AS datasets,"
        " (SELECT count(*) FROM job) AS jobs, (SELECT max(id) FROM result) AS last_result",
    ) or {}


# --- experiments ------------------------------------------------------------------------------------------------

def experiments(conn: sqlite3.Connection) -> list[Row]:
    """Each experiment with its jobs' status counts, mean progress and time span."""
    return _all(
        conn,
        "SELECT e.id, e.name, e.created_at, count(j.id) AS n_jobs,"
        " coalesce(sum(j.status = 'done'), 0) AS done,"
        " coalesce(sum(j.status IN ('running', 'cancelling')), 0) AS running,"
        " coalesce(sum(j.status IN ('pending', 'queued')), 0) AS pending,"
        " coalesce(sum(j.status = 'failed'), 0) AS failed,"
        " coalesce(sum(j.status = 'cancelled'), 0) AS cancelled,"
        " coalesce(avg(CASE WHEN j.status = 'done' THEN 1.0 ELSE j.progress END), 0) AS progress,"
        " min(j.started_at) AS started_at, max(j.ended_at) AS ended_at"
        " FROM experiment e LEFT JOIN experiment_job ej ON ej.experiment_id = e.id"
        " LEFT JOIN job j ON j.id = ej.job_id GROUP BY e.id ORDER BY e.id DESC LIMIT ?",
        (ROW_LIMIT,),
    )


def experiment(conn: sqlite3.Connection, experiment_id: int) -> Row | None:
    return _one(conn, "SELECT * FROM experiment WHERE id = ?", (experiment_id,))


def experiment_job_kinds(conn: sqlite3.Connection, experiment_id: int) -> list[Row]:
    """Per job kind: how many of the experiment's jobs are in each status (the Experiments screen's panel)."""
    return _all(
        conn,
        "SELECT j.kind, count(*) AS total, coalesce(sum(j.status = 'done'), 0) AS done,"
        " coalesce(sum(j.status IN ('running', 'cancelling')), 0) AS running,"
        " coalesce(sum(j.status = 'failed'), 0) AS failed FROM job j JOIN experiment_job ej ON ej.job_id = j.id"
        " WHERE ej.experiment_id = ? GROUP BY j.kind ORDER BY min(j.id)",
        (experiment_id,),
    )


def experiment_runs(conn: sqlite3.Connection, experiment_id: int) -> list[Row]:
    """The experiment's arms, one row per run (arm x N x variant x training seed), with their result count."""
    return _all(
        conn,
        "SELECT ru.id, ru.arm, ru.n, ru.variant, ru.seed, j.status,"
        " (SELECT count(*) FROM result r WHERE r.run_id = ru.id) AS results FROM run ru"
        " JOIN experiment_job ej ON ej.job_id = ru.job_id LEFT JOIN job j ON j.id = ru.job_id"
        " WHERE ej.experiment_id = ? ORDER BY ru.arm, ru.n, ru.variant, ru.seed LIMIT ?",
        (experiment_id, ROW_LIMIT),
    )


# --- jobs -------------------------------------------------------------------------------------------------------

JOB_COLUMNS = "j.id, j.kind, j.label, j.status, j.progress, j.message, j.attempt, j.started_at, j.ended_at," \
    " j.heartbeat_at, j.pid, j.host, j.log_path"


def jobs(conn: sqlite3.Connection, status: str | None = None, experiment_id: int | None = None) -> list[Row]:
    """The queue: running first, then pending, failed, cancelled, done; newest first within each."""
    where, params = [], []
    if status:
        where.append("j.status = ?")
        params.append(status)
    if experiment_id is not None:
        where.append("j.id IN (SELECT job_id FROM experiment_job WHERE experiment_id = ?)")
        params.append(experiment_id)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    order = STATUS_ORDER.replace("status", "j.status")
    return _all(
        conn,
        f"SELECT {JOB_COLUMNS} FROM job j {clause} ORDER BY {order}, j.id DESC LIMIT ?",
        (*params, ROW_LIMIT),
    )


def runs_of_job(conn: sqlite3.Connection, job_id: int) -> list[Row]:
    """The runs a job made (finetune) or evaluated (eval), for Enter on the Jobs screen."""
    return _all(
        conn,
        "SELECT id FROM run WHERE job_id = ? UNION SELECT run_id FROM (SELECT run_id FROM result WHERE job_id = ?"
        " LIMIT 1)",
        (job_id, job_id),
    )


def job_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {r["status"]: r["n"] for r in _all(conn, "SELECT status, count(*) AS n FROM job GROUP BY status")}


def job(conn: sqlite3.Connection, job_id: int) -> Row | None:
    return _one(conn, "SELECT * FROM job WHERE id = ?", (job_id,))


# --- datasets and comparisons -----------------------------------------------------------------------------------

def datasets(conn: sqlite3.Connection) -> list[Row]:
    return _all(conn, "SELECT id, name, kind, root, config_json, n_items, created_at FROM dataset ORDER BY id LIMIT ?",
                (ROW_LIMIT,))


def dataset(conn: sqlite3.Connection, dataset_id: int) -> Row | None:
    return _one(conn, "SELECT * FROM dataset WHERE id = ?", (dataset_id,))


def pools(conn: sqlite3.Connection) -> list[Row]:
    """Every comparison pool with its LLM, dataset and acceptance counts."""
    return _all(
        conn,
        "SELECT p.id, p.split, p.prompt_id, p.seed, p.n_target, p.dataset_id, l.name AS llm, l.backend,"
        " d.name AS dataset, (SELECT count(*) FROM comparison c WHERE c.pool_id = p.id) AS total,"
        " (SELECT count(*) FROM comparison c WHERE c.pool_id = p.id AND c.accepted) AS accepted"
        " FROM pool p JOIN llm l ON l.id = p.llm_id LEFT JOIN dataset d ON d.id = p.dataset_id ORDER BY p.id",
    )


def pool_quality(conn: sqlite3.Connection, pool_id: int) -> Row | None:
    """The pool's row of the `comparison_quality` view (graded claims; None values when it is not graded)."""
    return _one(
        conn,
        "SELECT n_graded, claim_precision, diff_recall, direction_error_rate, hallucination_rate, fully_correct_rate,"
        " grader FROM comparison_quality WHERE pool_id = ?",
        (pool_id,),
    )


def grades_token(conn: sqlite3.Connection) -> int:
    """Changes whenever comparisons are graded (the view is recomputed only then)."""
    row = _one(conn, "SELECT max(rowid) AS m FROM comparison_grade")
    return int(row["m"] or 0) if row else 0


def comparisons(
    conn: sqlite3.Connection, pool_id: int, verdict: str = "all", search: str = "", limit: int = ROW_LIMIT
) -> list[Row]:
    """A pool's comparisons in pair order, filtered by verdict (all|accepted|rejected) and a text search."""
    where, params = ["c.pool_id = ?"], [pool_id]
    if verdict == "accepted":
        where.append("c.accepted")
    elif verdict == "rejected":
        where.append("NOT c.accepted")
    if search:
        like = f"%{search}%"
        where.append("(c.raw_text LIKE ? OR c.caption_i LIKE ? OR c.caption_j LIKE ? OR c.reject_reason LIKE ?)")
        params += [like] * 4
    return _all(
        conn,
        "SELECT c.id, c.idx, c.item_i, c.item_j, c.accepted, c.reject_reason, c.text, c.raw_text,"
        " g.n_claims, g.n_correct, g.fully_correct"
        f" FROM comparison c LEFT JOIN comparison_grade g ON g.comparison_id = c.id WHERE {' AND '.join(where)}"
        " ORDER BY c.idx LIMIT ?",
        (*params, limit),
    )


def comparison(conn: sqlite3.Connection, comparison_id: int) -> Row | None:
    """One comparison with its pool, LLM and grade."""
    return _one(
        conn,
        "SELECT c.*, p.split, p.dataset_id, l.name AS llm, g.grader, g.n_claims, g.n_correct, g.n_reversed,"
        " g.n_wrong, g.n_hallucinated, g.n_true_diffs, g.n_covered, g.fully_correct"
        " FROM comparison c JOIN pool p ON p.id = c.pool_id JOIN llm l ON l.id = p.llm_id"
        " LEFT JOIN comparison_grade g ON g.comparison_id = c.id WHERE c.id = ?",
        (comparison_id,),
    )


# --- results ----------------------------------------------------------------------------------------------------

def result_experiments(conn: sqlite3.Connection) -> list[Row]:
    """Experiments that have at least one run (most recent first); served by the job-id indexes."""
    return _all(
        conn,
        "SELECT e.id, e.name FROM experiment e WHERE EXISTS (SELECT 1 FROM experiment_job ej JOIN run ru"
        " ON ru.job_id = ej.job_id WHERE ej.experiment_id = e.id) ORDER BY e.id DESC",
    )


# The `ablation_summary` view (pcclip/store/views.py), with the experiment filter applied FIRST: SQLite 3.40
# does not push `WHERE experiment_id = ?` into the view's two GROUP BY levels, so selecting one experiment
# from the view aggregates every experiment's results (0.5 s on 120,000 result rows). Same formulas and the
# same membership rule (a result belongs to the experiments that list its evaluation job); tests check that
# the rows equal the view's.
ABLATION_SUMMARY_SQL = """
WITH per_run AS (
  SELECT r.run_id AS run_id, r.task AS task, r.metric AS metric, AVG(r.value) AS mean,
         CASE WHEN COUNT(*) > 1 THEN
           sqrt(max(0.0, (SUM(r.value * r.value) - COUNT(*) * AVG(r.value) * AVG(r.value)) / (COUNT(*) - 1)))
           / sqrt(COUNT(*))
         END AS stderr,
         COUNT(*) AS n_seeds, MAX(r.chance) AS chance
  FROM experiment_job ej JOIN result r ON r.job_id = ej.job_id
  WHERE ej.experiment_id = ? GROUP BY r.run_id, r.task, r.metric
)
SELECT ru.arm AS llm, ru.n AS n, ru.variant AS variant, p.task AS task, p.metric AS metric, AVG(p.mean) AS mean,
       CASE WHEN COUNT(*) > 1 THEN
         sqrt(max(0.0, (SUM(p.mean * p.mean) - COUNT(*) * AVG(p.mean) * AVG(p.mean)) / (COUNT(*) - 1)))
         / sqrt(COUNT(*))
       ELSE MAX(p.stderr) END AS stderr,
       CASE WHEN COUNT(*) > 1 THEN 'runs' ELSE 'eval_seeds' END AS se_over,
       COUNT(*) AS n_runs, SUM(p.n_seeds) AS n_rows, MAX(p.chance) AS chance
FROM per_run p JOIN run ru ON ru.id = p.run_id
GROUP BY ru.arm, ru.n, ru.variant, p.task, p.metric ORDER BY task, metric, llm, n, variant
"""


def ablation_summary(conn: sqlite3.Connection, experiment_id: int) -> list[Row]:
    """One experiment's rows of `ablation_summary`: mean, standard error, n and chance per arm and task."""
    return _all(conn, ABLATION_SUMMARY_SQL, (experiment_id,))


def results_token(conn: sqlite3.Connection) -> tuple:
    """Changes whenever a result row is added or replaced (max rowid and count are both index lookups)."""
    return tuple(conn.execute("SELECT max(id), count(*) FROM result").fetchone())


def arm_runs(conn: sqlite3.Connection, experiment_id: int, llm: str, n: int, variant: str) -> list[Row]:
    """The runs (one per training seed) behind one row of the ablation table."""
    return _all(
        conn,
        "SELECT ru.id, ru.seed FROM run ru JOIN experiment_job ej ON ej.job_id = ru.job_id"
        " WHERE ej.experiment_id = ? AND ru.arm = ? AND ru.n = ? AND ru.variant = ? ORDER BY ru.seed LIMIT 50",
        (experiment_id, llm, n, variant),
    )


def metric_series(conn: sqlite3.Connection, run_id: int, name: str = "loss", max_points: int = 2000) -> list[Row]:
    """(step, value) of one run's metric, thinned to at most `max_points` (served by ix_metric_run_name_step)."""
    total = conn.execute("SELECT count(*) FROM metric WHERE run_id = ? AND name = ?", (run_id, name)).fetchone()[0]
    stride = max(1, -(-total // max_points))
    return _all(
        conn,
        "SELECT step, value FROM (SELECT step, value, row_number() OVER (ORDER BY step) AS k FROM metric"
        " WHERE run_id = ? AND name = ?) WHERE (k - 1) % ? = 0 ORDER BY step",
        (run_id, name, stride),
    )


def metric_names(conn: sqlite3.Connection, run_id: int) -> list[Row]:
    """A run's metric names with their point count and last value."""
    return _all(
        conn,
        "SELECT name, count(*) AS points, max(step) AS last_step,"
        " (SELECT m2.value FROM metric m2 WHERE m2.run_id = m.run_id AND m2.name = m.name ORDER BY m2.step DESC"
        "  LIMIT 1) AS last_value FROM metric m WHERE run_id = ? GROUP BY name ORDER BY name",
        (run_id,),
    )


# --- run detail -------------------------------------------------------------------------------------------------

def run_detail(conn: sqlite3.Connection, run_id: int) -> Row | None:
    """A run with everything that produced it: job, LLM, pool, experiments, artifacts and results."""
    run = _one(conn, "SELECT * FROM run WHERE id = ?", (run_id,))
    if run is None:
        return None
    run["job"] = _one(conn, "SELECT * FROM job WHERE id = ?", (run["job_id"],)) if run["job_id"] else None
    run["llm"] = _one(conn, "SELECT * FROM llm WHERE id = ?", (run["llm_id"],)) if run["llm_id"] else None
    run["pool"] = _one(conn, "SELECT * FROM pool WHERE id = ?", (run["pool_id"],)) if run["pool_id"] else None
    run["experiments"] = _all(
        conn,
        "SELECT e.id, e.name, e.spec_hash, e.spec_text FROM experiment e JOIN experiment_job ej"
        " ON ej.experiment_id = e.id WHERE ej.job_id = ? ORDER BY e.id",
        (run["job_id"],),
    )
    run["artifacts"] = _all(
        conn,
        "SELECT id, kind, path, sha256, bytes FROM artifact WHERE id = ? OR (job_id IS NOT NULL AND job_id IN"
        " (?, (SELECT job_id FROM result WHERE run_id = ? LIMIT 1))) ORDER BY id LIMIT 100",
        (run["checkpoint_artifact_id"], run["job_id"], run_id),
    )
    run["results"] = _all(
        conn,
        "SELECT task, metric, count(*) AS seeds, avg(value) AS mean, min(value) AS lo, max(value) AS hi,"
        " max(chance) AS chance, sum(n_examples) AS n_examples FROM result WHERE run_id = ?"
        " GROUP BY task, metric ORDER BY task, metric",
        (run_id,),
    )
    run["metrics"] = metric_names(conn, run_id)
    return run
