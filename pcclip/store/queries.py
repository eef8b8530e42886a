"""Read helpers for experiments, jobs and results, shared by the CLI and the TUI.

All read through a read-only connection (`pcclip.store.readonly.query`), so showing status never takes the
write lock and never competes with workers.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pcclip.store.readonly import query


def _dicts(cols: list[str], rows: list[tuple]) -> list[dict[str, Any]]:
    return [dict(zip(cols, r)) for r in rows]


def experiments(db: Path) -> list[dict[str, Any]]:
    """Every experiment with its job counts by status (newest first)."""
    cols, rows = query(
        db,
        """
        SELECT e.id, e.name, e.created_at,
               COUNT(j.id) AS jobs,
               SUM(j.status = 'done') AS done,
               SUM(j.status IN ('queued', 'running', 'cancelling')) AS running,
               SUM(j.status = 'pending') AS pending,
               SUM(j.status = 'failed') AS failed,
               SUM(j.status = 'cancelled') AS cancelled
        FROM experiment e
        LEFT JOIN experiment_job ej ON ej.experiment_id = e.id
        LEFT JOIN job j ON j.id = ej.job_id
        GROUP BY e.id ORDER BY e.id DESC
        """,
    )
    return _dicts(cols, rows)


def experiment(db: Path, name_or_id: str | int | None) -> dict[str, Any] | None:
    """One experiment by id or name (the newest with that name); None = the newest of all."""
    if name_or_id is None:
        cols, rows = query(db, "SELECT * FROM experiment ORDER BY id DESC LIMIT 1")
    elif str(name_or_id).isdigit():
        cols, rows = query(db, "SELECT * FROM experiment WHERE id = ?", (int(name_or_id),))
    else:
        cols, rows = query(db, "SELECT * FROM experiment WHERE name = ? ORDER BY id DESC LIMIT 1", (str(name_or_id),))
    found = _dicts(cols, rows)
    return found[0] if found else None


def _age(ts: str | None) -> float | None:
    if not ts:
        return None
    try:
        t = datetime.fromisoformat(str(ts))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - t).total_seconds()


def jobs(db: Path, experiment_id: int | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """Jobs (of one experiment, or all), with `heartbeat_age_s` computed."""
    where, params = [], []
    if experiment_id is not None:
        where.append("j.id IN (SELECT job_id FROM experiment_job WHERE experiment_id = ?)")
        params.append(experiment_id)
    if status is not None:
        where.append("j.status = ?")
        params.append(status)
    sql = (
        "SELECT j.id, j.kind, j.label, j.status, j.progress, j.message, j.attempt, j.pid, j.host, "
        "j.heartbeat_at, j.started_at, j.ended_at, j.log_path, j.error, j.key FROM job j"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY j.id"
    )
    out = _dicts(*query(db, sql, tuple(params)))
    for r in out:
        r["heartbeat_age_s"] = _age(r["heartbeat_at"])
    return out


def job(db: Path, job_id: int) -> dict[str, Any] | None:
    found = _dicts(*query(db, "SELECT * FROM job WHERE id = ?", (job_id,)))
    return found[0] if found else None


def summary(db: Path, experiment_id: int, metric: str = "accuracy") -> list[dict[str, Any]]:
    """Per arm (LLM x N x variant) and task: mean, standard error, runs, chance (the `ablation_summary` view)."""
    return _dicts(
        *query(
            db,
            "SELECT llm, n, variant, task, metric, mean, stderr, se_over, n_runs, n_rows, chance "
            "FROM ablation_summary WHERE experiment_id = ? AND metric = ? "
            "ORDER BY task, (llm = 'base') DESC, llm, n, variant",
            (experiment_id, metric),
        )
    )


def results(db: Path, experiment_id: int | None = None) -> list[dict[str, Any]]:
    """The tidy `results` view (one row per run x task x evaluation seed x metric)."""
    if experiment_id is None:
        return _dicts(*query(db, "SELECT * FROM results ORDER BY experiment_id, llm, n, run_seed, task, eval_seed"))
    return _dicts(
        *query(
            db,
            "SELECT * FROM results WHERE experiment_id = ? ORDER BY llm, n, run_seed, task, eval_seed",
            (experiment_id,),
        )
    )


def tasks(db: Path, experiment_id: int) -> list[str]:
    _cols, rows = query(db, "SELECT DISTINCT task FROM results WHERE experiment_id = ? ORDER BY task", (experiment_id,))
    return [r[0] for r in rows]


def match_tasks(patterns: list[str], available: list[str]) -> list[str]:
    """Tasks named by patterns ('prefix/*' = every task with that prefix), in pattern order."""
    out: list[str] = []
    for p in patterns:
        if p.endswith("*"):
            out += [t for t in available if t.startswith(p[:-1]) and t not in out]
        elif p in available and p not in out:
            out.append(p)
    return out
